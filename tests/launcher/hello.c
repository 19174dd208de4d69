/* A tiny dynamically linkable program for forceclose --check. */
#include <stdio.h>

int main(void)
{
	puts("hello");
	return 0;
}
