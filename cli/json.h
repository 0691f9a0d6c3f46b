/*
 * A small JSON reader for rewire's own files (training logs, continual
 * learning reports). Recursive descent into a tree; never crashes on
 * malformed input and reports the line, column and byte of the first error.
 *
 * Numbers are converted without the C locale (a ',' decimal point in the
 * user's locale does not matter). Strings are decoded to UTF-8; \u0000 is
 * kept, so use `len` when that matters. Nesting deeper than
 * RW_JSON_MAX_DEPTH is rejected rather than risking the stack.
 */
#ifndef RW_CLI_JSON_H
#define RW_CLI_JSON_H

#include <stddef.h>

#define RW_JSON_MAX_DEPTH 128

typedef enum rw_json_type {
    RW_JSON_NULL = 0,
    RW_JSON_BOOL,
    RW_JSON_NUMBER,
    RW_JSON_STRING,
    RW_JSON_ARRAY,
    RW_JSON_OBJECT
} rw_json_type;

typedef struct rw_json rw_json;
struct rw_json {
    rw_json_type type;
    int boolean;    /* RW_JSON_BOOL */
    double number;  /* RW_JSON_NUMBER (may be +-inf when out of range) */
    char *string;   /* RW_JSON_STRING, NUL-terminated */
    size_t len;     /* string bytes, or items in an array/object */
    rw_json *items; /* array elements / object values (len entries) */
    char **keys;    /* object keys (len entries), NULL for arrays */
};

typedef struct rw_json_error {
    size_t line;   /* 1-based */
    size_t column; /* 1-based, in bytes */
    size_t offset; /* 0-based byte offset */
    int truncated; /* the text ended before the value was complete */
    char msg[160];
} rw_json_error;

/* Parses exactly one JSON value from text[0..len) (surrounding whitespace
 * allowed). Returns a tree to free with rw_json_free, or NULL with `err`
 * filled when the text is malformed or memory runs out. */
rw_json *rw_json_parse(const char *text, size_t len, rw_json_error *err);

/* Frees a tree from rw_json_parse. NULL is allowed. */
void rw_json_free(rw_json *v);

/* Value of `key` in an object (first match), or NULL when `obj` is not an
 * object or has no such key. */
const rw_json *rw_json_get(const rw_json *obj, const char *key);

/* Short name of a type ("number", "object", ...) for messages. */
const char *rw_json_type_name(rw_json_type t);

/* Reads a whole file into a NUL-terminated buffer (malloc'd; free it).
 * Returns NULL and sets errno on failure; refuses files above `max_bytes`
 * with errno EFBIG, a folder with EISDIR and a pipe, device or socket
 * with EINVAL (without waiting on it). */
char *rw_json_read_file(const char *path, size_t max_bytes, size_t *len);

#endif /* RW_CLI_JSON_H */
