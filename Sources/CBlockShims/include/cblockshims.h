#ifndef CBLOCKSHIMS_H
#define CBLOCKSHIMS_H

// Thin wrappers for ioctls and syscalls that Swift cannot call directly
// (variadic ioctl, kernel structs with fixed-size char arrays).
// Every function returns >= 0 on success and -errno on failure, so the
// Swift side can build an error that names the operation that failed.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loop device flags (values of LO_FLAGS_* in <linux/loop.h>).
enum {
    CBS_LO_FLAGS_READ_ONLY = 1,
    CBS_LO_FLAGS_AUTOCLEAR = 4,
    CBS_LO_FLAGS_PARTSCAN = 8,
    CBS_LO_FLAGS_DIRECT_IO = 16,
};

/// The subset of struct loop_info64 that callers need.
typedef struct cbs_loop_status {
    uint64_t device;
    uint64_t inode;
    uint64_t offset;
    uint64_t size_limit;
    uint32_t number;
    uint32_t flags;
    /// NUL-terminated, truncated by the kernel to 63 bytes.
    char file_name[64];
} cbs_loop_status;

/// LOOP_CTL_GET_FREE on an open /dev/loop-control: returns a free device number.
int cbs_loop_ctl_get_free(int control_fd);

/// LOOP_CONFIGURE (Linux >= 5.8): binds backing_fd with block size and flags in
/// one call. file_name is recorded in the device's status (may be NULL).
int cbs_loop_configure(int loop_fd, int backing_fd, uint32_t block_size,
                       uint32_t flags, const char *file_name);

/// LOOP_SET_FD: the pre-5.8 way to bind a backing file.
int cbs_loop_set_fd(int loop_fd, int backing_fd);

/// LOOP_SET_STATUS64 with the given settable flags (AUTOCLEAR, PARTSCAN) and file name.
int cbs_loop_set_status_flags(int loop_fd, uint32_t flags, const char *file_name);

/// LOOP_SET_BLOCK_SIZE.
int cbs_loop_set_block_size(int loop_fd, uint32_t block_size);

/// LOOP_SET_DIRECT_IO (enable != 0 turns it on).
int cbs_loop_set_direct_io(int loop_fd, int enable);

/// LOOP_SET_CAPACITY: re-read the backing file's size.
int cbs_loop_set_capacity(int loop_fd);

/// LOOP_CLR_FD: unbind (deferred by the kernel to the last close).
int cbs_loop_clr_fd(int loop_fd);

/// LOOP_GET_STATUS64.
int cbs_loop_get_status(int loop_fd, cbs_loop_status *out);

/// umount2(2).
int cbs_umount2(const char *target, int flags);

/// The MNT_DETACH flag for cbs_umount2.
int cbs_mnt_detach(void);

/// Sets or clears O_NONBLOCK on fd (fcntl is variadic).
int cbs_set_nonblocking(int fd, int nonblocking);

/// Opens path with the given open(2) flags and O_CLOEXEC; returns the fd.
int cbs_open(const char *path, int flags);

/// The O_DIRECT open flag (not exported to Swift on every libc).
int cbs_o_direct(void);

/// eventfd(2) with EFD_CLOEXEC | EFD_NONBLOCK, used to wake poll loops.
int cbs_eventfd(void);

/// Adds one to an eventfd counter.
int cbs_eventfd_signal(int fd);

/// Names the calling thread (at most 15 bytes are kept).
int cbs_set_thread_name(const char *name);


#ifdef __cplusplus
}
#endif

#endif
