#define _GNU_SOURCE
#include "cblockshims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/loop.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

// Older uapi headers lack LOOP_CONFIGURE; the kernel decides at run time.
#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
struct loop_config {
    uint32_t fd;
    uint32_t block_size;
    struct loop_info64 info;
    uint64_t __reserved[8];
};
#endif

static int result(int rc) {
    return rc < 0 ? -errno : rc;
}

static void copy_name(uint8_t dst[LO_NAME_SIZE], const char *name) {
    if (name == NULL) {
        return;
    }
    // The kernel field is fixed size; keep room for the terminator.
    strncpy((char *)dst, name, LO_NAME_SIZE - 1);
    dst[LO_NAME_SIZE - 1] = 0;
}

int cbs_loop_ctl_get_free(int control_fd) {
    return result(ioctl(control_fd, LOOP_CTL_GET_FREE));
}

int cbs_loop_configure(int loop_fd, int backing_fd, uint32_t block_size,
                       uint32_t flags, const char *file_name) {
    struct loop_config config;
    memset(&config, 0, sizeof(config));
    config.fd = (uint32_t)backing_fd;
    config.block_size = block_size;
    config.info.lo_flags = flags;
    copy_name(config.info.lo_file_name, file_name);
    return result(ioctl(loop_fd, LOOP_CONFIGURE, &config));
}

int cbs_loop_set_fd(int loop_fd, int backing_fd) {
    return result(ioctl(loop_fd, LOOP_SET_FD, backing_fd));
}

int cbs_loop_set_status_flags(int loop_fd, uint32_t flags, const char *file_name) {
    struct loop_info64 info;
    memset(&info, 0, sizeof(info));
    int rc = ioctl(loop_fd, LOOP_GET_STATUS64, &info);
    if (rc < 0) {
        return -errno;
    }
    info.lo_flags = flags;
    copy_name(info.lo_file_name, file_name);
    return result(ioctl(loop_fd, LOOP_SET_STATUS64, &info));
}

int cbs_loop_set_block_size(int loop_fd, uint32_t block_size) {
    return result(ioctl(loop_fd, LOOP_SET_BLOCK_SIZE, (unsigned long)block_size));
}

int cbs_loop_set_direct_io(int loop_fd, int enable) {
    return result(ioctl(loop_fd, LOOP_SET_DIRECT_IO, (unsigned long)(enable ? 1 : 0)));
}

int cbs_loop_set_capacity(int loop_fd) {
    return result(ioctl(loop_fd, LOOP_SET_CAPACITY, 0));
}

int cbs_loop_clr_fd(int loop_fd) {
    return result(ioctl(loop_fd, LOOP_CLR_FD, 0));
}

int cbs_loop_get_status(int loop_fd, cbs_loop_status *out) {
    struct loop_info64 info;
    memset(&info, 0, sizeof(info));
    int rc = ioctl(loop_fd, LOOP_GET_STATUS64, &info);
    if (rc < 0) {
        return -errno;
    }
    memset(out, 0, sizeof(*out));
    out->device = info.lo_device;
    out->inode = info.lo_inode;
    out->offset = info.lo_offset;
    out->size_limit = info.lo_sizelimit;
    out->number = info.lo_number;
    out->flags = info.lo_flags;
    memcpy(out->file_name, info.lo_file_name, sizeof(out->file_name) - 1);
    out->file_name[sizeof(out->file_name) - 1] = 0;
    return 0;
}

int cbs_umount2(const char *target, int flags) {
    return result(umount2(target, flags));
}

int cbs_mnt_detach(void) {
    return MNT_DETACH;
}

int cbs_set_nonblocking(int fd, int nonblocking) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) {
        return -errno;
    }
    flags = nonblocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return result(fcntl(fd, F_SETFL, flags));
}

int cbs_open(const char *path, int flags) {
    return result(open(path, flags | O_CLOEXEC));
}

int cbs_o_direct(void) {
    return O_DIRECT;
}

int cbs_eventfd(void) {
    return result(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

int cbs_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof(one));
    // EAGAIN means the counter is already saturated: the waiter wakes anyway.
    if (n < 0 && errno != EAGAIN) {
        return -errno;
    }
    return 0;
}

int cbs_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof(truncated) - 1);
    truncated[sizeof(truncated) - 1] = 0;
    return -pthread_setname_np(pthread_self(), truncated);
}
