/* pq_lazy.h: libpq, loaded on first use. The driver calls libpq through
 * this table, filled by pm_pq_load() with dlopen("libpq.so.5") when the
 * first postgres:// URL is opened or PGconn adopted, so a process that only
 * uses SQLite never maps libpq and the ~20 libraries it pulls in (Kerberos,
 * LDAP, GnuTLS). A program that links libpq.so.5 itself gets the same copy
 * back from dlopen, so the PGconn it adopts and these functions agree. */
#ifndef PM_PQ_LAZY_H
#define PM_PQ_LAZY_H

#include <libpq-fe.h>

#include "poblysh/errors.h"

#define PM_PQ_FUNCTIONS(X)                                                                         \
    X(PQconndefaults)                                                                              \
    X(PQconninfoFree)                                                                              \
    X(PQconninfoParse)                                                                             \
    X(PQconnectdbParams)                                                                           \
    X(PQpingParams)                                                                                \
    X(PQstatus)                                                                                    \
    X(PQfinish)                                                                                    \
    X(PQerrorMessage)                                                                              \
    X(PQsetNoticeProcessor)                                                                        \
    X(PQgetCancel)                                                                                 \
    X(PQfreeCancel)                                                                                \
    X(PQcancel)                                                                                    \
    X(PQexecParams)                                                                                \
    X(PQsendQuery)                                                                                 \
    X(PQgetResult)                                                                                 \
    X(PQresultStatus)                                                                              \
    X(PQresultErrorField)                                                                          \
    X(PQresultErrorMessage)                                                                        \
    X(PQclear)                                                                                     \
    X(PQnfields)                                                                                   \
    X(PQntuples)                                                                                   \
    X(PQgetisnull)                                                                                 \
    X(PQgetvalue)                                                                                  \
    X(PQescapeLiteral)                                                                             \
    X(PQfreemem)                                                                                   \
    X(PQtransactionStatus)                                                                         \
    X(PQuser)                                                                                      \
    X(PQhost)                                                                                      \
    X(PQport)                                                                                      \
    X(PQdb)                                                                                        \
    X(PQparameterStatus)

typedef struct pm_pq_api {
#define PM_PQ_MEMBER(name) __typeof__(&name) name;
    PM_PQ_FUNCTIONS(PM_PQ_MEMBER)
#undef PM_PQ_MEMBER
} pm_pq_api;

extern pm_pq_api pm_pq;

/* Loads libpq once; PM_ECONNECT with a message saying what to install when
 * it is missing. */
int pm_pq_load(pm_error *err);

#ifndef PM_PQ_LAZY_IMPL
#define PQconndefaults pm_pq.PQconndefaults
#define PQconninfoFree pm_pq.PQconninfoFree
#define PQconninfoParse pm_pq.PQconninfoParse
#define PQconnectdbParams pm_pq.PQconnectdbParams
#define PQpingParams pm_pq.PQpingParams
#define PQstatus pm_pq.PQstatus
#define PQfinish pm_pq.PQfinish
#define PQerrorMessage pm_pq.PQerrorMessage
#define PQsetNoticeProcessor pm_pq.PQsetNoticeProcessor
#define PQgetCancel pm_pq.PQgetCancel
#define PQfreeCancel pm_pq.PQfreeCancel
#define PQcancel pm_pq.PQcancel
#define PQexecParams pm_pq.PQexecParams
#define PQsendQuery pm_pq.PQsendQuery
#define PQgetResult pm_pq.PQgetResult
#define PQresultStatus pm_pq.PQresultStatus
#define PQresultErrorField pm_pq.PQresultErrorField
#define PQresultErrorMessage pm_pq.PQresultErrorMessage
#define PQclear pm_pq.PQclear
#define PQnfields pm_pq.PQnfields
#define PQntuples pm_pq.PQntuples
#define PQgetisnull pm_pq.PQgetisnull
#define PQgetvalue pm_pq.PQgetvalue
#define PQescapeLiteral pm_pq.PQescapeLiteral
#define PQfreemem pm_pq.PQfreemem
#define PQtransactionStatus pm_pq.PQtransactionStatus
#define PQuser pm_pq.PQuser
#define PQhost pm_pq.PQhost
#define PQport pm_pq.PQport
#define PQdb pm_pq.PQdb
#define PQparameterStatus pm_pq.PQparameterStatus
#endif

#endif
