/* check.c - forceclose --check.  Reads the program's ELF headers (or its
 * #! line, then the interpreter's) and tells whether the dynamic loader
 * will load libforceclose.so into it and whether the library will see its
 * socket calls.  Nothing is run.
 *
 * The file may be hostile (it is checked before it is trusted): only
 * regular files are opened, and never so that opening could block or
 * change anything; every read is bounded; and every byte printed is
 * printable ASCII, so that no byte from the file (PT_INTERP, the #! line)
 * can forge a verdict line or drive the terminal. */
#define _GNU_SOURCE
#include "check.h"
#include "engine.h"

#include <elf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH 4		/* nested #! interpreters, as the kernel */
#define HEAD_SIZE 256		/* the kernel reads this much of a #! line */
#define PROXY "use a proxy such as HAProxy with option httpclose"
#define GLIBC_LOADER "ld-linux-x86-64.so.2"
/* The Go magic is looked for at the start of each loaded segment: Go's
 * linker puts its build info first in the data segment, and Go's own
 * reader (debug/buildinfo) looks there too.  Bounded whatever the file
 * claims: a file may be huge or sparse. */
#define GO_SCAN_SEGMENT (1 << 20)	/* bytes of each segment */
#define GO_SCAN_SEGMENTS 16		/* segments looked at */

static const char go_magic[] = "\xff Go buildinf:";

/* Text that may hold bytes from the file (or from the command line):
 * non-printable bytes shown as '?', as the settings messages do. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		putc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
}

/* One line on stderr; the status for "cannot tell".  label is the
 * "PROGRAM: [script run by INTERP: ]..." chain that led here. */
static int cannot(const char *label, const char *why)
{
	fputs("forceclose: --check: ", stderr);
	put_escaped(stderr, label);
	put_escaped(stderr, why);
	putc('\n', stderr);
	return 2;
}

static int verdict(const char *label, bool yes, const char *why)
{
	put_escaped(stdout, label);
	fputs(yes ? "yes - " : "no - ", stdout);
	put_escaped(stdout, why);
	putc('\n', stdout);
	return yes ? 0 : 1;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* name looked up in PATH as execvp does; NULL if not found. */
static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char *cand;
	struct stat st;

	if (path == NULL)
		path = "/bin:/usr/bin";	/* execvp's default */
	for (p = path;; p = end + 1) {
		int dlen;

		end = strchrnul(p, ':');
		dlen = (int)(end - p);
		if (asprintf(&cand, "%.*s%s%s", dlen, dlen ? p : ".",
			     dlen ? "/" : "/", name) < 0)
			return NULL;
		if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode))
			return cand;
		free(cand);
		if (*end == '\0')
			return NULL;
	}
}

static bool read_at(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off) == (ssize_t)n;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_X86_64: return "x86_64";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "arm";
	case EM_RISCV: return "riscv";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390";
	case EM_MIPS: return "mips";
	default: return "another architecture";
	}
}

/* Does the section table name a Go section?  -1: no usable table. */
static int go_sections(int fd, const Elf64_Ehdr *eh, off_t size)
{
	Elf64_Shdr *sh, *strs;
	char *names;
	int found = 0;
	unsigned i;

	if (eh->e_shoff == 0 || eh->e_shnum == 0 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shstrndx >= eh->e_shnum ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof *sh > (uint64_t)size)
		return -1;
	sh = calloc(eh->e_shnum, sizeof *sh);
	if (sh == NULL || !read_at(fd, sh, eh->e_shnum * sizeof *sh,
				   (off_t)eh->e_shoff)) {
		free(sh);
		return -1;
	}
	strs = &sh[eh->e_shstrndx];
	names = strs->sh_size <= (1u << 20) && strs->sh_offset +
		strs->sh_size <= (uint64_t)size ? calloc(1, strs->sh_size + 1)
					      : NULL;
	if (names == NULL || !read_at(fd, names, strs->sh_size,
				      (off_t)strs->sh_offset))
		found = -1;
	for (i = 0; found == 0 && i < eh->e_shnum; i++)
		if (sh[i].sh_name < strs->sh_size &&
		    (strcmp(names + sh[i].sh_name, ".go.buildinfo") == 0 ||
		     strcmp(names + sh[i].sh_name, ".note.go.buildid") == 0))
			found = 1;
	free(names);
	free(sh);
	return found;
}

/* Go's build-info header, 16-byte aligned, at the start of a loaded
 * segment, for binaries stripped of their section table. */
static bool go_magic_at(int fd, off_t from, uint64_t len)
{
	enum { CHUNK = 1 << 16 };
	static char buf[CHUNK];
	uint64_t done = 0;
	ssize_t n;
	size_t i;

	if (len > GO_SCAN_SEGMENT)
		len = GO_SCAN_SEGMENT;
	from -= from % 16;	/* p_offset and p_vaddr agree modulo 16 */
	while (done < len &&
	       (n = pread(fd, buf, sizeof buf, from + (off_t)done)) > 0) {
		for (i = 0; i + sizeof go_magic - 1 <= (size_t)n; i += 16)
			if (memcmp(buf + i, go_magic, sizeof go_magic - 1) == 0)
				return true;
		if ((size_t)n < sizeof buf)
			break;
		/* the next read starts where a magic cut here would too */
		done += CHUNK - 16;
	}
	return false;
}

static bool go_magic_in_file(int fd, const Elf64_Ehdr *eh, off_t size)
{
	Elf64_Phdr ph;
	unsigned i, seen = 0;

	if (eh->e_phentsize != sizeof ph)
		return false;
	for (i = 0; i < eh->e_phnum && seen < GO_SCAN_SEGMENTS; i++) {
		if (pread(fd, &ph, sizeof ph,
			  (off_t)(eh->e_phoff + i * sizeof ph)) != sizeof ph)
			return false;
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0 ||
		    ph.p_offset >= (uint64_t)size)
			continue;
		seen++;
		if (go_magic_at(fd, (off_t)ph.p_offset, ph.p_filesz))
			return true;
	}
	return false;
}

/* PT_INTERP into out: 1 found, 0 none (static), -1 malformed. */
static int elf_interp(int fd, const Elf64_Ehdr *eh, char *out, size_t cap)
{
	Elf64_Phdr ph;
	unsigned i;

	if (eh->e_phnum == 0)
		return 0;
	if (eh->e_phentsize != sizeof ph || eh->e_phnum == PN_XNUM)
		return -1;
	for (i = 0; i < eh->e_phnum; i++) {
		if (!read_at(fd, &ph, sizeof ph,
			     (off_t)(eh->e_phoff + i * sizeof ph)))
			return -1;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz >= cap ||
		    !read_at(fd, out, ph.p_filesz, (off_t)ph.p_offset))
			return -1;
		out[ph.p_filesz] = '\0';
		return 1;
	}
	return 0;
}

/* Secure execution: set-ID bits or file capabilities; NULL: none. */
static const char *secure_exec(int fd, const struct stat *st)
{
	if (st->st_mode & S_ISUID)
		return "set-user-ID";
	/* set-group-ID without group execute marks mandatory locking */
	if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP))
		return "set-group-ID";
	if (fgetxattr(fd, "security.capability", NULL, 0) >= 0)
		return "has file capabilities";
	return NULL;
}

/* HTTPS is reached through OpenSSL 3 and GnuTLS only: name the common
 * runtimes that bring their own TLS (plain HTTP is still reached). */
static void https_note(const char *label)
{
	static const char *const own_tls[][2] = {
		{ "node", "node has OpenSSL built into the binary" },
		{ "nodejs", "node has OpenSSL built into the binary" },
		{ "java", "Java's TLS (JSSE) is Java code" },
	};
	const char *name = label, *end = label + strlen(label);
	size_t i, len;

	/* label is "PATH: " */
	if (end - label >= 2 && end[-2] == ':')
		end -= 2;
	for (const char *p = label; p < end; p++)
		if (*p == '/')
			name = p + 1;
	len = (size_t)(end - name);
	for (i = 0; i < sizeof own_tls / sizeof own_tls[0]; i++)
		if (strlen(own_tls[i][0]) == len &&
		    memcmp(name, own_tls[i][0], len) == 0)
			printf("note: HTTPS out of reach: %s; plain HTTP is "
			       "reached\n", own_tls[i][1]);
}

/* Go programs (static or cgo-linked: Go's own calls are raw either way)
 * and static ones: the launcher's system-call engine, if it can run. */
static int engine_verdict(int fd, const struct stat *st, const char *label,
			  bool go, bool is_static)
{
	const char *sec = secure_exec(fd, st), *why;
	char text[512];

	if (sec != NULL) {
		snprintf(text, sizeof text, "%s: the system-call engine cannot "
			 "run it (no_new_privs would drop its privileges); "
			 PROXY, sec);
		return verdict(label, false, text);
	}
	if (!engine_available(&why)) {
		snprintf(text, sizeof text, "%s: no preloaded library sees "
			 "its calls, and %s; " PROXY, go ? "a Go program"
			 : "statically linked", why);
		return verdict(label, false, text);
	}
	snprintf(text, sizeof text, "%s%s: the system-call engine reaches it "
		 "(forceclose --engine=syscall, chosen by auto; no preloaded "
		 "library sees its raw system calls); plain HTTP only%s; not "
		 "if it installs its own seccomp listener",
		 go ? "a Go program" : "statically linked",
		 go && !is_static ? " (cgo-linked)" : "",
		 go ? " - Go's HTTPS is inside the binary: use DisableKeepAlives"
		      " or " PROXY : "");
	return verdict(label, true, text);
}

static int check_elf(int fd, const struct stat *st,
		     const unsigned char *head, size_t n, const char *label)
{
	Elf64_Ehdr eh;
	char interp[PATH_MAX], why[PATH_MAX + 256];
	unsigned machine;
	const char *sec;
	int go, r;

	if (n < EI_NIDENT + 4)
		return cannot(label, "truncated ELF header");
	machine = head[EI_DATA] == ELFDATA2MSB ? (unsigned)head[18] << 8 | head[19]
					       : (unsigned)head[19] << 8 | head[18];
	if (head[EI_CLASS] != ELFCLASS64 || head[EI_DATA] != ELFDATA2LSB ||
	    machine != EM_X86_64) {
		snprintf(why, sizeof why, "built for %s (%s-bit), not x86_64: "
			 "libforceclose.so is an x86_64 library; " PROXY,
			 machine_name(machine),
			 head[EI_CLASS] == ELFCLASS64 ? "64" : "32");
		return verdict(label, false, why);
	}
	if (n < sizeof eh)
		return cannot(label, "truncated ELF header");
	memcpy(&eh, head, sizeof eh);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return cannot(label, "an ELF file that is not a program");
	go = go_sections(fd, &eh, st->st_size);
	go = go == 1 || (go < 0 && go_magic_in_file(fd, &eh, st->st_size));
	r = elf_interp(fd, &eh, interp, sizeof interp);
	if (r < 0)
		return cannot(label, "malformed ELF program headers");
	if (go || r == 0)
		return engine_verdict(fd, st, label, go, r == 0);
	if (strcmp(base_name(interp), GLIBC_LOADER) != 0) {
		snprintf(why, sizeof why, "%s (loader %s), not glibc: "
			 "libforceclose.so is built against glibc; " PROXY,
			 strstr(interp, "ld-musl") ? "linked against musl libc"
						   : "another C library",
			 interp);
		return verdict(label, false, why);
	}
	sec = secure_exec(fd, st);
	if (sec != NULL) {
		snprintf(why, sizeof why, "%s: in secure-execution mode the "
			 "loader ignores LD_PRELOAD paths with slashes; " PROXY,
			 sec);
		return verdict(label, false, why);
	}
	r = verdict(label, true, "dynamically linked against glibc; "
		    "LD_PRELOAD reaches it");
	https_note(label);
	return r;
}

/* The program "#!/usr/bin/env [-S] [-i] [VAR=x] NAME ..." runs, or NULL. */
static char *env_target(char *arg)
{
	char *save, *w;

	for (w = strtok_r(arg, " \t", &save); w != NULL;
	     w = strtok_r(NULL, " \t", &save)) {
		if (strncmp(w, "-S", 2) == 0 && w[2] != '\0')
			return w + 2;	/* -SNAME */
		/* -u NAME: NAME is the option's, not the program */
		if (strcmp(w, "-u") == 0 || strcmp(w, "--unset") == 0) {
			if (strtok_r(NULL, " \t", &save) == NULL)
				break;
			continue;
		}
		if (w[0] != '-' && strchr(w, '=') == NULL)
			return w;
	}
	return NULL;
}

static int check_file(const char *path, int depth, const char *label);

/* A #! script: the verdict is its interpreter's. */
static int check_script(char *line, int depth,
			const char *label)
{
	char *interp, *arg, *end, *name, *found = NULL, *sub;
	int status;

	line[strcspn(line, "\n")] = '\0';
	interp = line + 2 + strspn(line + 2, " \t");
	arg = interp + strcspn(interp, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	for (end = arg + strlen(arg); end > arg && (end[-1] == ' ' ||
	     end[-1] == '\t' || end[-1] == '\r'); end--)
		end[-1] = '\0';
	if (*interp == '\0')
		return cannot(label, "empty #! line");
	if (depth >= MAX_DEPTH)
		return cannot(label, "too many levels of #! interpreters");
	if (strcmp(base_name(interp), "env") == 0) {
		name = env_target(arg);
		if (name == NULL)
			return cannot(label, "cannot tell what its #! env runs");
		found = strchr(name, '/') ? strdup(name) : find_in_path(name);
		if (found == NULL) {
			char *why;
			if (asprintf(&why, "#! %s: %s is not in PATH", interp,
				     name) < 0)
				return cannot(label, "out of memory");
			status = cannot(label, why);
			free(why);
			return status;
		}
		if (asprintf(&sub, "%sscript run by %s (via %s): ", label,
			     found, interp) < 0)
			sub = NULL;
	} else if (asprintf(&sub, "%sscript run by %s: ", label, interp) < 0) {
		sub = NULL;
	}
	if (sub == NULL) {
		free(found);
		return cannot(label, "out of memory");
	}
	status = check_file(found ? found : interp, depth + 1, sub);
	if (depth == 0 && status != 2)
		printf("note: the programs the script starts inherit LD_PRELOAD "
		       "and are reached or not on their own (forceclose "
		       "--check NAME)\n");
	free(sub);
	free(found);
	return status;
}

static int check_file(const char *path, int depth, const char *label)
{
	unsigned char head[HEAD_SIZE + 1];
	struct stat st, opened;
	ssize_t n;
	int fd, status;

	/* Look before opening: opening a FIFO waits for a writer, opening a
	 * device can act on it (a watchdog arms itself). */
	if (stat(path, &st) != 0)
		return cannot(label, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cannot(label, "not a regular file");
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return cannot(label, strerror(errno));
	/* and what was opened is what was looked at */
	if (fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode) ||
	    opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
		close(fd);
		return cannot(label, "not a regular file");
	}
	n = pread(fd, head, HEAD_SIZE, 0);
	if (n < 0)
		status = cannot(label, strerror(errno));
	else if (n >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0)
		status = check_elf(fd, &st, head, (size_t)n, label);
	else if (n >= 2 && head[0] == '#' && head[1] == '!') {
		head[n] = '\0';
		status = check_script((char *)head, depth, label);
	} else
		status = cannot(label, "not a program (neither ELF nor #!)");
	close(fd);
	return status;
}

bool check_wants_engine(const char *program)
{
	unsigned char head[sizeof(Elf64_Ehdr)];
	char *path, interp[PATH_MAX];
	Elf64_Ehdr eh;
	struct stat st;
	bool wants = false;
	int fd, go;

	path = strchr(program, '/') ? strdup(program) : find_in_path(program);
	/* only a regular file is opened, and never so that opening could
	 * block or change anything (as check_file) */
	fd = path && stat(path, &st) == 0 && S_ISREG(st.st_mode) ?
		     open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) :
		     -1;
	free(path);
	if (fd < 0)
		return false;	/* exec says why */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read_at(fd, head, sizeof head, 0) &&
	    memcmp(head, ELFMAG, SELFMAG) == 0 &&
	    head[EI_CLASS] == ELFCLASS64 && head[EI_DATA] == ELFDATA2LSB) {
		memcpy(&eh, head, sizeof eh);
		go = go_sections(fd, &eh, st.st_size);
		/* never set-ID ones: no_new_privs would run them without
		 * their privileges */
		wants = eh.e_machine == EM_X86_64 &&
			secure_exec(fd, &st) == NULL &&
			(go == 1 ||
			 (go < 0 && go_magic_in_file(fd, &eh, st.st_size)) ||
			 elf_interp(fd, &eh, interp, sizeof interp) == 0);
	}
	close(fd);
	return wants;
}

int check(const char *program)
{
	char *path, *label;
	int status;

	if (*program == '\0')
		return cannot("", "empty PROGRAM name");
	path = strchr(program, '/') ? strdup(program) : find_in_path(program);
	if (path == NULL) {
		if (asprintf(&label, "%s: ", program) < 0)
			return cannot("", "out of memory");
		status = cannot(label, "not found in PATH");
		free(label);
		return status;
	}
	if (asprintf(&label, "%s: ", path) < 0) {
		free(path);
		return cannot("", "out of memory");
	}
	status = check_file(path, 0, label);
	free(label);
	free(path);
	return status;
}
