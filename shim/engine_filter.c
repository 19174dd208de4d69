/* engine_filter.c - the seccomp filter.  What it traps decides what the
 * engine costs: a trapped call is a round trip through the supervisor
 * (about 10 us), an untrapped one 50-120 ns of filter.  So it traps
 * socket() for TCP only, and the I/O family only on descriptors at or
 * above the base where the supervisor places those sockets; files, pipes
 * and every other socket stay native. */
#define _GNU_SOURCE
#include "engine_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

struct prog {
	struct sock_filter f[128];
	unsigned n;
};

static void add(struct prog *p, struct sock_filter s)
{
	p->f[p->n++] = s;
}

/* Tail for one system call: trap when argument a (an int descriptor: its
 * low 32 bits, as the kernel reads it) is at or above base, else allow.
 * a2 >= 0: a second descriptor argument checked the same way. */
static void fd_rule(struct prog *p, int nr, int a, int a2, unsigned base)
{
	/* not this call: jump over the rest of the rule, nr still in A */
	add(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0,
		    a2 >= 0 ? 7 : 4));
	add(p, STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)ARG_LO(a)));
	add(p, JUMP(BPF_JMP | BPF_JGE | BPF_K, base, 0, 1));
	add(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	if (a2 >= 0) {
		add(p, STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)ARG_LO(a2)));
		add(p, JUMP(BPF_JMP | BPF_JGE | BPF_K, base, 0, 1));
		add(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	}
	add(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

int engine_filter_install(unsigned base)
{
	/* the calls that move a socket's bytes, or copy its descriptor to a
	 * number the filter would not see, by their descriptor arguments */
	static const struct { int nr, a, a2; } rules[] = {
		{ SYS_read, 0, -1 }, { SYS_write, 0, -1 },
		{ SYS_readv, 0, -1 }, { SYS_writev, 0, -1 },
		{ SYS_sendto, 0, -1 }, { SYS_recvfrom, 0, -1 },
		{ SYS_sendmsg, 0, -1 }, { SYS_recvmsg, 0, -1 },
		{ SYS_sendmmsg, 0, -1 }, { SYS_recvmmsg, 0, -1 },
		{ SYS_close, 0, -1 }, { SYS_dup, 0, -1 },
		{ SYS_dup2, 0, 1 }, { SYS_dup3, 0, 1 },
		{ SYS_fcntl, 0, 2 },	/* F_DUPFD's minimum; other commands
					   pass back untouched */
		{ SYS_sendfile, 0, 1 }, { SYS_splice, 0, 2 },
		{ SYS_tee, 0, 1 },
	};
	struct prog p = { .n = 0 };
	struct sock_fprog fprog;
	unsigned i;
	long fd;

	add(&p, STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, arch)));
	add(&p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
	add(&p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	add(&p, STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, nr)));
	/* x32 system calls (bit 30) are not ours */
	add(&p, JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
	add(&p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	/* io_uring would move bytes where the engine never sees them:
	 * ENOSYS makes programs fall back to the calls above */
	add(&p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1));
	add(&p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	/* socket(AF_INET or AF_INET6, SOCK_STREAM | flags, ...) */
	add(&p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 8));
	add(&p, STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)ARG_LO(0)));
	add(&p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0));
	add(&p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 3));
	add(&p, STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)ARG_LO(1)));
	add(&p, STMT(BPF_ALU | BPF_AND | BPF_K, 0xf));
	add(&p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, 1, 0));
	add(&p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	add(&p, STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	for (i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		fd_rule(&p, rules[i].nr, rules[i].a, rules[i].a2, base);
	}
	add(&p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));

	fprog.len = (unsigned short)p.n;
	fprog.filter = p.f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	/* WAIT_KILLABLE_RECV: once the supervisor has a notification, only
	 * a fatal signal ends the wait, so a write the supervisor performed
	 * is never also reported as EINTR or restarted (Go preempts its
	 * threads with signals all the time) */
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		     SECCOMP_FILTER_FLAG_NEW_LISTENER |
			     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		     &fprog);
	return (int)fd;
}
