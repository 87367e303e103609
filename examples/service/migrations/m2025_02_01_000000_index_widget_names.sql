-- An index on widgets.name, as plain SQL embedded at build time.
-- migrate:up
CREATE INDEX widgets_name_idx ON widgets (name);

-- migrate:down
DROP INDEX widgets_name_idx;
