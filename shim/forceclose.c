/* forceclose.c - the launcher: sets the FORCECLOSE_* variables from its
 * options, prepends libforceclose.so to LD_PRELOAD and execs COMMAND.
 * Values are validated with the library's own settings code, so the
 * launcher refuses exactly what the library would ignore. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"
#include "settings.h"

#ifndef FORCECLOSE_LIBDIR
#define FORCECLOSE_LIBDIR "/usr/local/lib"
#endif
#ifndef FORCECLOSE_VERSION
#define FORCECLOSE_VERSION "0.1.0"
#endif
#define LIB_NAME "libforceclose.so"

enum {
	EXIT_USAGE = 2,		/* bad option or value: nothing run */
	EXIT_LAUNCHER = 125,	/* the launcher itself failed */
	EXIT_CANNOT_RUN = 126,	/* like env(1) */
	EXIT_NOT_FOUND = 127,
};

/* The variables options set, with the option named in messages. */
enum var { V_ACTION, V_ONLY, V_EXCEPT, V_VERBOSE, V_LOG, V_STATS, V_INHERIT,
	   V_MODE, V_REPORT, V_INTERVAL, V_COUNT };
static const struct {
	const char *name, *option;
} vars[V_COUNT] = {
	[V_ACTION] = { "FORCECLOSE_ACTION", "--action" },
	[V_ONLY] = { "FORCECLOSE_ONLY", "--only" },
	[V_EXCEPT] = { "FORCECLOSE_EXCEPT", "--except" },
	[V_VERBOSE] = { "FORCECLOSE_VERBOSE", "--verbose" },
	[V_LOG] = { "FORCECLOSE_LOG", "--log" },
	[V_STATS] = { "FORCECLOSE_STATS", "--stats" },
	[V_INHERIT] = { "FORCECLOSE_INHERIT", "--no-inherit" },
	[V_MODE] = { "FORCECLOSE_MODE", "--observe" },
	[V_REPORT] = { "FORCECLOSE_REPORT", "--report" },
	[V_INTERVAL] = { "FORCECLOSE_REPORT_INTERVAL", "--report-interval" },
};

static char *values[V_COUNT];	/* NULL: not given, inherited as it is */
static int verbose_count;
static const char *check_program;
static enum { ENGINE_AUTO, ENGINE_PRELOAD, ENGINE_SYSCALL } engine_opt;

static void oom(void)
{
	fputs("forceclose: out of memory\n", stderr);
	exit(EXIT_LAUNCHER);
}

static char *xstrdup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		oom();
	return copy;
}

static char *concat3(const char *a, const char *b, const char *c)
{
	char *s;

	if (asprintf(&s, "%s%s%s", a, b, c) < 0)
		oom();
	return s;
}

static void usage_error(const char *fmt, const char *arg)
{
	fputs("forceclose: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("; see forceclose --help\n", stderr);
	exit(EXIT_USAGE);
}

/* An empty value would silently count as unset: refuse it instead. */
static void need_value(enum var v, const char *arg)
{
	if (*arg == '\0')
		usage_error("%s needs a non-empty value", vars[v].option);
}

static void opt_action(const char *arg)
{
	need_value(V_ACTION, arg);
	free(values[V_ACTION]);
	values[V_ACTION] = xstrdup(arg);
}

/* --only / --except: repeatable, joined with commas. */
static void opt_list(enum var v, const char *arg)
{
	char *old = values[v];

	need_value(v, arg);
	values[v] = old ? concat3(old, ",", arg) : xstrdup(arg);
	free(old);
}

/* A relative file name, made absolute against the current directory
 * (the program may chdir before the library opens it). */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return xstrdup(path);
	if (getcwd(cwd, sizeof cwd) == NULL) {
		fprintf(stderr, "forceclose: cannot make \"%s\" absolute: %s\n",
			path, strerror(errno));
		exit(EXIT_LAUNCHER);
	}
	while (path[0] == '.' && path[1] == '/')
		for (path += 2; *path == '/'; path++)
			;
	return concat3(cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
}

static void opt_log(const char *arg)
{
	need_value(V_LOG, arg);
	free(values[V_LOG]);
	if (strcmp(arg, "stderr") == 0 || strcmp(arg, "syslog") == 0)
		values[V_LOG] = xstrdup(arg);
	else
		values[V_LOG] = absolute(arg);
}

static void opt_stats(const char *arg)
{
	need_value(V_STATS, arg);
	free(values[V_STATS]);
	values[V_STATS] = absolute(arg);
}

static void opt_report(const char *arg)
{
	need_value(V_REPORT, arg);
	free(values[V_REPORT]);
	values[V_REPORT] = absolute(arg);
}

static void opt_interval(const char *arg)
{
	need_value(V_INTERVAL, arg);
	free(values[V_INTERVAL]);
	values[V_INTERVAL] = xstrdup(arg);
}

static void opt_observe(void)
{
	free(values[V_MODE]);
	values[V_MODE] = xstrdup("observe");
}

static void opt_verbose(void)
{
	if (++verbose_count > 3)
		usage_error("%s given more than 3 times (accepted: up to 3)",
			    "-v/--verbose");
	free(values[V_VERBOSE]);
	if (asprintf(&values[V_VERBOSE], "%d", verbose_count) < 0)
		oom();
}

static void opt_no_inherit(void)
{
	free(values[V_INHERIT]);
	values[V_INHERIT] = xstrdup("0");
}

/* libforceclose.so next to this executable, else the installed one.
 * NULL if neither exists; *looked names what was tried. */
static char *library_path(char **looked)
{
	char exe[PATH_MAX], *slash, *here;
	const char *installed = FORCECLOSE_LIBDIR "/" LIB_NAME;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	*looked = NULL;
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			slash[1] = '\0';
			here = concat3(exe, LIB_NAME, "");
			if (access(here, F_OK) == 0)
				return here;
			*looked = here;
		}
	}
	if (access(installed, F_OK) == 0)
		return xstrdup(installed);
	return NULL;
}

/* Is this LD_PRELOAD entry the same library file as lib? */
static bool same_library(const char *entry, const char *lib_real)
{
	const char *base = strrchr(entry, '/');
	char real[PATH_MAX];

	if (strcmp(base ? base + 1 : entry, LIB_NAME) == 0)
		return true;
	return lib_real != NULL && realpath(entry, real) != NULL &&
	       strcmp(real, lib_real) == 0;
}

/* lib first, then the old entries (the loader splits on spaces and
 * colons) minus any naming the same library. */
static char *preload_value(const char *lib, const char *old)
{
	char *lib_real = realpath(lib, NULL), *copy, *entry, *save, *out;
	size_t cap, len;

	copy = xstrdup(old ? old : "");
	cap = strlen(lib) + strlen(copy) + 2;
	out = malloc(cap);
	if (out == NULL)
		oom();
	len = (size_t)snprintf(out, cap, "%s", lib);
	for (entry = strtok_r(copy, " :", &save); entry != NULL;
	     entry = strtok_r(NULL, " :", &save))
		if (!same_library(entry, lib_real))
			len += (size_t)snprintf(out + len, cap - len, ":%s",
						entry);
	free(copy);
	free(lib_real);
	return out;
}

static void set_preload(void)
{
	char *looked, *lib = library_path(&looked), *value;

	if (lib == NULL) {
		fprintf(stderr, "forceclose: %s not found (looked for %s%s%s)\n",
			LIB_NAME, looked ? looked : "", looked ? " and " : "",
			FORCECLOSE_LIBDIR "/" LIB_NAME);
		exit(EXIT_LAUNCHER);
	}
	if (strpbrk(lib, " :") != NULL) {
		fprintf(stderr, "forceclose: cannot preload %s: LD_PRELOAD "
			"cannot hold a path with a space or a colon\n", lib);
		exit(EXIT_LAUNCHER);
	}
	value = preload_value(lib, getenv("LD_PRELOAD"));
	if (setenv("LD_PRELOAD", value, 1) != 0)
		oom();
	free(value);
	free(lib);
	free(looked);
}

/* settings_parse wants a const-returning getter. */
static const char *get_env(const char *name)
{
	return getenv(name);
}

/* Sets the variables given by options, then checks every FORCECLOSE_*
 * value as the library will see it; exits 2 at the first bad one. */
static struct settings s;	/* ~16 KiB: not on the stack */

static void set_and_validate(void)
{
	struct settings_error err;
	const char *opt = NULL;
	char line[1024];
	size_t plen = strlen("forceclose: "), n;
	int v;

	for (v = 0; v < V_COUNT; v++)
		if (values[v] != NULL && setenv(vars[v].name, values[v], 1) != 0)
			oom();
	if (settings_parse(&s, get_env, &err))
		return;
	for (v = 0; v < V_COUNT; v++)
		if (values[v] != NULL && strcmp(err.var, vars[v].name) == 0)
			opt = vars[v].option;
	if (opt != NULL)
		err.var = opt;
	/* the line is not NUL-terminated */
	n = settings_error_line(&err, "forceclose: ", "", line, sizeof line);
	/* name="value" reads as an assignment: an option takes a word */
	if (opt != NULL && plen + strlen(opt) < n &&
	    line[plen + strlen(opt)] == '=')
		line[plen + strlen(opt)] = ' ';
	fwrite(line, 1, n, stderr);
	exit(EXIT_USAGE);
}

static void print_help(void)
{
	char *looked, *lib = library_path(&looked);

	printf("Usage: forceclose [OPTIONS] [--] COMMAND [ARGS...]\n"
	       "       forceclose --check PROGRAM\n"
	       "Run COMMAND with " LIB_NAME " preloaded: its HTTP/1.x client "
	       "requests say\n\"Connection: close\" and connections are torn "
	       "down after each response.\n\n"
	       "  -a, --action ACTION  shutdown (default), close or none\n"
	       "      --only LIST      touch only these destinations "
	       "(repeatable)\n"
	       "      --except LIST    never touch these destinations "
	       "(repeatable)\n"
	       "  -v, --verbose        log more (up to 3 times)\n"
	       "      --log WHERE      stderr (default), syslog or a FILE\n"
	       "      --stats FILE     append a JSON line of counters at "
	       "exit and exec\n"
	       "      --observe        change nothing: follow the traffic and "
	       "report, at exit,\n"
	       "                       which destinations leak and which "
	       "action would cure it\n"
	       "      --report FILE    the report goes to FILE (.json: one "
	       "JSON document)\n"
	       "      --report-interval SECONDS  also every SECONDS while "
	       "the program runs\n"
	       "      --no-inherit     programs COMMAND starts run without "
	       "being reached\n"
	       "      --engine WHICH   auto (default), preload or syscall "
	       "(see below)\n"
	       "      --check PROGRAM  can the library reach PROGRAM? "
	       "(runs nothing)\n"
	       "  -h, --help           this help\n"
	       "  -V, --version        the version\n\n"
	       "LIST: comma-separated addresses or CIDR blocks with optional "
	       ":port\n(10.0.0.0/8:8080, [::1]:80), unix:/path prefixes, "
	       "host names, *.domain.\nEach option sets one FORCECLOSE_* "
	       "variable; see libforceclose(7).\n\n"
	       "Exit status: COMMAND's own; 2 bad option or value (nothing "
	       "run); 125 the\nlauncher failed (e.g. no " LIB_NAME "); "
	       "126 COMMAND cannot run; 127 COMMAND\nnot found.\n"
	       "--check: 0 reachable; 1 not reachable (why, and what to use "
	       "instead); 2 usage\nerror, PROGRAM unreadable or not a "
	       "program (neither ELF nor #! script).\n\n");
	printf("Library: %s\n", lib ? lib : "not found");
	free(lib);
	free(looked);
}

static void bad_option(int opt, char *const argv[])
{
	char text[3] = { '-', (char)opt, '\0' };

	/* optopt is the short option's letter, else the long one's value */
	usage_error("bad option \"%s\" (unknown, ambiguous, or given a value "
		    "it does not take)",
		    opt > 0 && opt < 256 ? text : argv[optind - 1]);
}

static void missing_value(int opt, char *const argv[])
{
	char text[3] = { '-', (char)opt, '\0' };

	usage_error("%s needs a value",
		    opt > 0 && opt < 256 ? text : argv[optind - 1]);
}

enum { O_ONLY = 256, O_EXCEPT, O_LOG, O_STATS, O_NO_INHERIT, O_CHECK,
       O_ENGINE, O_OBSERVE, O_REPORT, O_INTERVAL };

static void opt_engine(const char *arg)
{
	if (strcmp(arg, "auto") == 0)
		engine_opt = ENGINE_AUTO;
	else if (strcmp(arg, "preload") == 0)
		engine_opt = ENGINE_PRELOAD;
	else if (strcmp(arg, "syscall") == 0)
		engine_opt = ENGINE_SYSCALL;
	else
		usage_error("bad --engine \"%s\" (accepted: auto, preload, "
			    "syscall)", arg);
}

static void parse_options(int argc, char *argv[])
{
	static const struct option longs[] = {
		{ "action", required_argument, NULL, 'a' },
		{ "only", required_argument, NULL, O_ONLY },
		{ "except", required_argument, NULL, O_EXCEPT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "log", required_argument, NULL, O_LOG },
		{ "stats", required_argument, NULL, O_STATS },
		{ "no-inherit", no_argument, NULL, O_NO_INHERIT },
		{ "check", required_argument, NULL, O_CHECK },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "observe", no_argument, NULL, O_OBSERVE },
		{ "report", required_argument, NULL, O_REPORT },
		{ "report-interval", required_argument, NULL, O_INTERVAL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;	/* our own one-line messages */
	while ((c = getopt_long(argc, argv, "+:a:vhV", longs, NULL)) != -1) {
		switch (c) {
		case 'a': opt_action(optarg); break;
		case O_ONLY: opt_list(V_ONLY, optarg); break;
		case O_EXCEPT: opt_list(V_EXCEPT, optarg); break;
		case 'v': opt_verbose(); break;
		case O_LOG: opt_log(optarg); break;
		case O_STATS: opt_stats(optarg); break;
		case O_NO_INHERIT: opt_no_inherit(); break;
		case O_CHECK: check_program = optarg; break;
		case O_ENGINE: opt_engine(optarg); break;
		case O_OBSERVE: opt_observe(); break;
		case O_REPORT: opt_report(optarg); break;
		case O_INTERVAL: opt_interval(optarg); break;
		case 'h': print_help(); exit(0);
		case 'V': printf("forceclose %s\n", FORCECLOSE_VERSION);
			exit(0);
		case ':': missing_value(optopt, argv); break;
		default: bad_option(optopt, argv); break;
		}
	}
}

static void run(char *argv[])
{
	execvp(argv[0], argv);
	fprintf(stderr, "forceclose: %s: %s\n", argv[0], strerror(errno));
	exit(errno == ENOENT || errno == ENOTDIR ? EXIT_NOT_FOUND
						  : EXIT_CANNOT_RUN);
}

int main(int argc, char *argv[])
{
	parse_options(argc, argv);
	set_and_validate();
	if (check_program != NULL) {
		if (optind < argc)
			usage_error("--check takes one PROGRAM and no COMMAND "
				    "(\"%s\")", argv[optind]);
		return check(check_program);
	}
	if (optind >= argc) {
		fputs("Usage: forceclose [OPTIONS] [--] COMMAND [ARGS...] "
		      "(see forceclose --help)\n", stderr);
		return EXIT_USAGE;
	}
	if (engine_opt == ENGINE_SYSCALL ||
	    (engine_opt == ENGINE_AUTO && check_wants_engine(argv[optind]))) {
		return engine_exec(argv + optind);
	}
	set_preload();
	run(argv + optind);
	return EXIT_CANNOT_RUN;
}
