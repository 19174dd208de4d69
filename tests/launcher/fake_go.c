/* A C program carrying Go's build-info section and magic, so --check's Go
 * detection can be tested where no Go toolchain is installed. */
#include <stdio.h>

__attribute__((section(".go.buildinfo"), used, aligned(16)))
static const char buildinfo[32] = "\xff Go buildinf:";

int main(void)
{
	puts("not really Go");
	return 0;
}
