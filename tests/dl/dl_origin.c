/* tests/dl/dl_origin.c - loads PLUGIN by its bare name, which only the
 * program's own RUNPATH ($ORIGIN/plugins) finds, with RTLD_DEEPBIND or
 * without; runs its one request and prints whether the response said
 * close.  usage: dl_origin PLUGIN plain|deep PORT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int (*request)(int);
	void *h;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PLUGIN plain|deep PORT\n", argv[0]);
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW |
			    (strcmp(argv[2], "deep") == 0 ? RTLD_DEEPBIND : 0));
	if (h == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&request = dlsym(h, "plugin_request");
	if (request == NULL)
		return 2;
	r = request(atoi(argv[3]));
	printf("said_close=%d\n", r);
	return r < 0;
}
