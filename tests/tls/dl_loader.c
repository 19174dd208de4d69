/* dl_loader.c - a program that knows nothing of TLS: it dlopen()s
 * MODULE with RTLD_LOCAL after start-up and runs its ssl_client_main, so
 * libssl is loaded late and only in the module's local scope.
 *
 *   dl_loader MODULE ARGS...   (ARGS as for ssl_client) */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	void *h;
	int (*run)(int, char **);

	if (argc < 2)
		return 2;
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&run = dlsym(h, "ssl_client_main");
	if (run == NULL)
		return 2;
	argv[1] = argv[0];
	return run(argc - 1, argv + 1);
}
