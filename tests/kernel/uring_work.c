/* io_uring workload for tests/kernel/test_uring.py: operations through a ring (liburing), each
 * waited for, printed as JSON: OPENAT of argv[1] (created), WRITE to it, READ back, an OPENAT of
 * a missing file (ENOENT), a READ on a bad fd (EBADF), an FSYNC of the file, a NOP (no fd; its
 * request's memory last held a completion's flags, 0 = stdin), CONNECT and SEND to a TCP
 * listener on 127.0.0.1; then a second ring with an SQPOLL thread and the file registered: a
 * READ of registered file 0 (IOSQE_FIXED_FILE), submitted by the kernel's thread. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct io_uring ring;

static int run(struct io_uring_sqe *sqe, unsigned long long tag)
{
	struct io_uring_cqe *cqe;
	int res;

	io_uring_sqe_set_data64(sqe, tag);
	if (io_uring_submit(&ring) != 1 || io_uring_wait_cqe(&ring, &cqe))
		exit(2);
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return res;
}

int main(int argc, char **argv)
{
	char buf[64] = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd, n, w, r, missing, bad, lst, cli, conn, sent;

	if (argc < 3 || io_uring_queue_init(8, &ring, 0))
		return 1;
	fd = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		    io_uring_prep_openat(s, AT_FDCWD, argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600); s; }),
		 101);
	w = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		   io_uring_prep_write(s, fd, "through the ring", 16, 0); s; }), 102);
	r = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		   io_uring_prep_read(s, fd, buf, sizeof(buf), 0); s; }), 103);
	missing = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring);
			 io_uring_prep_openat(s, AT_FDCWD, argv[2], O_RDONLY, 0); s; }), 104);
	bad = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		     io_uring_prep_read(s, 999, buf, sizeof(buf), 0); s; }), 105);
	n = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring); io_uring_prep_fsync(s, fd, 0);
		   s; }), 106);
	run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring); io_uring_prep_nop(s); s; }), 110);
	lst = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lst, (struct sockaddr *)&sa, sizeof(sa)) || listen(lst, 1) ||
	    getsockname(lst, (struct sockaddr *)&sa, &len))
		return 3;
	cli = socket(AF_INET, SOCK_STREAM, 0);
	conn = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		      io_uring_prep_connect(s, cli, (struct sockaddr *)&sa, sizeof(sa)); s; }), 107);
	sent = run(({ struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		      io_uring_prep_send(s, cli, "ping", 4, 0); s; }), 108);
	{
		struct io_uring sq;
		struct io_uring_params p = {.flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 1000};
		struct io_uring_sqe *s;
		struct io_uring_cqe *cqe;

		if (io_uring_queue_init_params(4, &sq, &p) || io_uring_register_files(&sq, &fd, 1))
			return 4;
		s = io_uring_get_sqe(&sq);
		io_uring_prep_read(s, 0, buf, sizeof(buf), 0);
		s->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(s, 109);
		if (io_uring_submit(&sq) != 1 || io_uring_wait_cqe(&sq, &cqe) || cqe->res != 16)
			return 5;
		io_uring_cqe_seen(&sq, cqe);
		io_uring_queue_exit(&sq);
	}
	printf("{\"ring\": %d, \"fd\": %d, \"write\": %d, \"read\": %d, \"missing\": %d, "
	       "\"bad\": %d, \"fsync\": %d, \"cli\": %d, \"connect\": %d, \"send\": %d, "
	       "\"port\": %d, \"pid\": %d}\n", ring.ring_fd, fd, w, r, missing, bad, n, cli, conn, sent,
	       ntohs(sa.sin_port), getpid());
	io_uring_queue_exit(&ring);
	return 0;
}
