/* hello_c: the C example of `cargo xtask run --add` (musl-gcc -static); the debian test stage
 * runs it from /usr/local/bin. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	printf("hello from C, %s (pid %d)\n", argc > 1 ? argv[1] : "world", (int)getpid());
	return 0;
}
