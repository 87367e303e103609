# poblysh.bash: bash completion for poblysh(1): the migrate commands, the
# global options, each command's own options, and folders or files for
# --source, --dir and --output. Installed as
# share/bash-completion/completions/poblysh. It needs nothing from the
# bash-completion package. tests/cli/test_manpages.c keeps it true to --help.

_poblysh()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    local global_opts="-u --database-url --profile --config --env-file --no-env-file --lock-timeout --ddl-lock-timeout --statement-timeout --ddl-retries --wait --source -d -s --schema --layout -v --verbose -q --quiet --progress --targets --targets-query -j --jobs --canary --keep-going --report -h --help -V --version"
    # The options that take a value, so their values are not taken for words.
    local valued=" -u --database-url --profile --config --env-file --lock-timeout --ddl-lock-timeout --statement-timeout --ddl-retries --wait --source -d -s --schema --layout --progress --targets --targets-query -j --jobs --canary --report -n --num --format --accept --applied --rollback --dir --output "
    local commands="up down fresh refresh reset status adopt repair schema verify generate init"
    COMPREPLY=()

    # An option and its value joined by '=' reach us as three words (COMP_WORDBREAKS
    # has '='): the option, '=', the value.
    local opt=$prev
    if [[ $cur == = ]]; then
        opt=$prev
        cur=
    elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
        opt=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    # --targets-query takes two values, a URL and then the SQL: the SQL is a
    # value too (--targets-query URL <SQL>, or --targets-query=URL <SQL>).
    if [[ ${COMP_WORDS[COMP_CWORD - 2]} == --targets-query && $prev != = && $cur != = ]] ||
        [[ $COMP_CWORD -ge 3 && ${COMP_WORDS[COMP_CWORD - 3]} == --targets-query &&
            ${COMP_WORDS[COMP_CWORD - 2]} == = ]]; then
        return 0
    fi
    case $opt in
    --source | --dir | -d)
        compopt -o filenames 2>/dev/null || true
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
        ;;
    --output | --config | --env-file | --targets | --report)
        compopt -o filenames 2>/dev/null || true
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
        ;;
    --progress)
        mapfile -t COMPREPLY < <(compgen -W "auto plain none" -- "$cur")
        return 0
        ;;
    --format)
        mapfile -t COMPREPLY < <(compgen -W "text json" -- "$cur")
        return 0
        ;;
    --layout)
        mapfile -t COMPREPLY < <(compgen -W "auto dbmate goose golang-migrate sqlx diesel flyway" -- "$cur")
        return 0
        ;;
    -u | --database-url)
        mapfile -t COMPREPLY < <(compgen -W "sqlite::memory: sqlite: sqlite:// sqlite3: sqlite3:// postgres:// postgresql:// mysql:// mariadb:// dbi:" -- "$cur")
        compopt -o nospace 2>/dev/null || true
        return 0
        ;;
    --profile)
        mapfile -t COMPREPLY < <(compgen -W "local test production" -- "$cur")
        return 0
        ;;
    --lock-timeout | --ddl-lock-timeout | --statement-timeout | --ddl-retries | --wait | -n | --num | --accept | --applied | --rollback | -j | --jobs | --canary | --targets-query)
        return 0
        ;;
    esac

    # The words before the cursor, options and their values left out.
    local i word group="" cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
        = | -*=*) continue ;;
        -*)
            if [[ $valued == *" $word "* ]]; then
                # Its value: the next word, or the one after a lone '='.
                if [[ ${COMP_WORDS[i + 1]} == = ]]; then
                    ((i += 2))
                else
                    ((i++))
                fi
                # --targets-query's second value: the SQL.
                [[ $word == --targets-query ]] && ((i++))
            fi
            continue
            ;;
        esac
        if [[ -z $group ]]; then
            group=$word
        elif [[ -z $cmd ]]; then
            cmd=$word
        fi
    done

    local words=""
    if [[ -z $group ]]; then
        words="migrate database config"
        [[ $cur == -* ]] && words=$global_opts
    elif [[ $group == config ]]; then
        [[ $cur == -* ]] && words=$global_opts
    elif [[ $group == database ]]; then
        # database create|drop|reset; drop and reset take --yes.
        words="create drop reset"
        [[ -n $cmd ]] && words=""
        [[ $cur == -* ]] && words="--yes $global_opts"
    elif [[ $group != migrate ]]; then
        return 0
    elif [[ -z $cmd ]]; then
        words=$commands
        [[ $cur == -* ]] && words=$global_opts
    elif [[ $cur == -* ]]; then
        case $cmd in
        (up)
            words="-n --num --dry-run --ignore-modified --allow-missing --allow-out-of-order --create-database"
            ;;
        (down)
            words="-n --num --dry-run --yes"
            ;;
        (fresh)
            words="--yes"
            ;;
        (refresh)
            words="--yes"
            ;;
        (reset)
            words="--yes"
            ;;
        (status)
            words="--format --exit-code"
            ;;
        (adopt)
            words="--dry-run --allow-unmatched --allow-failed"
            ;;
        (repair)
            words="--accept --applied --rollback"
            ;;
        (schema)
            words="--output"
            ;;
        (verify)
            words="--strict"
            ;;
        (generate)
            words="--dir --sql"
            ;;
        (init)
            words="--dir --sql"
            ;;
        esac
        words="$words $global_opts"
    elif [[ $cmd == adopt ]]; then
        words="dbmate golang-migrate goose sqlx diesel flyway"
    fi
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
    return 0
}

complete -F _poblysh poblysh
