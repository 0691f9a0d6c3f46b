/* Declared options: each command lists its options once, in a table of
 * cli_opt, and parsing (getopt_long underneath), validation of the values
 * (type and range) and the --help text all come from that table.
 *
 * A command is a list of groups; a group is a table and the struct its
 * values go to (each entry names a field by offset and size). One table
 * may serve several commands: train's options are a group of `rewire
 * continual` too, hidden from its help. Rules between options (one
 * implies or excludes another) stay in code, in one function per command
 * that runs after parsing. */
#ifndef RW_CLI_OPTS_H
#define RW_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum cli_opt_type {
    CLI_END = 0,  /* ends a table */
    CLI_HEADING,  /* not an option: `name` is a line of the help */
    CLI_HELP,     /* prints the command's help; the exit code is then 0 */
    CLI_FLAG,     /* takes no value: stores `flag` in a bool or int field */
    CLI_STRING,   /* const char *: the argument itself */
    CLI_SIZE,     /* size_t, a whole number in [min, max] */
    CLI_INT,      /* int, a whole number in [min, max] */
    CLI_U64,      /* uint64_t, any whole number */
    CLI_DOUBLE,   /* double, a finite number in [min, max] */
    CLI_CHOICE,   /* one of `choices`: its index goes to an int or enum */
    CLI_CUSTOM,   /* `parse` reads the value (several fields, a list) */
} cli_opt_type;

typedef struct cli_opt {
    cli_opt_type type;
    const char *name;   /* the long name without "--" (a heading's text) */
    char short_name;    /* -X as well, or 0 */
    const char *arg;    /* the value's name in the help ("N"); NULL: none */
    size_t offset, size; /* the field in the group's struct (CLI_FIELD) */
    double min, max;    /* CLI_SIZE, CLI_INT, CLI_DOUBLE: the range */
    const char *const *choices; /* CLI_CHOICE: NULL-terminated names */
    const char *expect; /* CLI_CHOICE: the list the error message gives,
                           when not all of `choices` ("a, b or c") */
    int flag;           /* CLI_FLAG: the value stored */
    /* CLI_CUSTOM: reads arg into the group's struct; prints the error
     * (naming the option) and returns false on a bad value. */
    bool (*parse)(const char *cmd, const char *arg, void *target);
    /* Called after the value is stored, for what the option implies
     * (--density makes the layers sparse). */
    void (*then)(void *target);
    /* Bits set in the group's `given` when the option is on the command
     * line, for the rules between options (an option that does something
     * only beside another). */
    unsigned given;
    /* The help: lines separated by '\n'; NULL leaves the option out of
     * the help (a neighbour's line or the usage line documents it). */
    const char *help;
    const char *usage;  /* the help's left column, when not "--name ARG" */
} cli_opt;

/* Names a field of struct T for cli_opt. */
#define CLI_FIELD(T, member) \
    .offset = offsetof(T, member), .size = sizeof(((T *)0)->member)

typedef struct cli_group {
    const cli_opt *opts; /* ended by CLI_END */
    void *target;        /* where the values go */
    const char *before, *after; /* help text around the group's options */
    bool hidden;         /* left out of the help */
    bool refuse;         /* known names that this command does not take:
                            "option --X does not apply to 'CMD'" */
    unsigned *given;     /* where the options' `given` bits go, or NULL */
} cli_group;

typedef struct cli_command {
    const char *name;   /* "train": for messages */
    int help_width;     /* the help's left column, "  " not counted */
    const cli_group *groups;
    size_t n_groups;
} cli_command;

/* Parses argv[1..argc-1] (argv[0] is the command) into the groups'
 * targets, which hold their defaults already. Returns -1 to go on, 0
 * after printing the help, or 2 after printing an error: an unknown or
 * refused option, a missing or bad value, an argument left over. */
int cli_parse(const cli_command *c, int argc, char **argv);

/* Writes the help: each group's `before`, its options, its `after`. */
void cli_print_help(const cli_command *c, FILE *f);

#endif
