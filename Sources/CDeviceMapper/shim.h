#ifndef CDEVICEMAPPER_SHIM_H
#define CDEVICEMAPPER_SHIM_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>

/*
 * Swift cannot define or call C variadic functions, and libdevmapper's log hook is printf-like.
 * The trampoline below formats each message and hands the finished text to a plain C function
 * pointer that Swift can provide. errno is captured first: libdevmapper reports system errors
 * through it ("open failed: No such device") and passes -1 as its own error code.
 */
typedef void (*cdm_log_sink)(int level, const char *file, int line, int dm_errno_or_class,
                             int sys_errno, const char *message);

static cdm_log_sink cdm_current_sink = NULL;

__attribute__((format(printf, 5, 6)))
static void cdm_log_trampoline(int level, const char *file, int line, int dm_errno_or_class,
                               const char *format, ...) {
    int saved = errno;
    char buffer[2048];
    va_list args;
    va_start(args, format);
    vsnprintf(buffer, sizeof(buffer), format, args);
    va_end(args);
    cdm_log_sink sink = cdm_current_sink;
    if (sink != NULL) {
        sink(level, file, line, dm_errno_or_class, saved, buffer);
    }
    errno = saved;
}

/* Routes every libdevmapper log line to `sink` (NULL restores libdevmapper's stderr logging). */
static inline void cdm_install_log_sink(cdm_log_sink sink) {
    cdm_current_sink = sink;
    dm_log_with_errno_init(sink != NULL ? cdm_log_trampoline : NULL);
}

/* `struct dm_names` ends in a flexible array, which Swift does not import. */
static inline const char *cdm_names_name(const struct dm_names *names) {
    return names->name;
}

/* The next entry of a DM_DEVICE_LIST answer, or NULL after the last. */
static inline const struct dm_names *cdm_names_next(const struct dm_names *names) {
    if (names->next == 0) {
        return NULL;
    }
    return (const struct dm_names *)((const char *)names + names->next);
}

/*
 * Asks the device-mapper driver behind `fd` for its interface version (the DM_VERSION ioctl,
 * a macro Swift cannot import). Returns 0 and fills `version` on success, else -1 with errno.
 */
static inline int cdm_driver_version_ioctl(int fd, uint32_t version[3]) {
    struct dm_ioctl request;
    memset(&request, 0, sizeof(request));
    request.version[0] = DM_VERSION_MAJOR;
    request.version[1] = DM_VERSION_MINOR;
    request.version[2] = DM_VERSION_PATCHLEVEL;
    request.data_size = sizeof(request);
    request.data_start = sizeof(request);
    if (ioctl(fd, DM_VERSION, &request) < 0) {
        return -1;
    }
    version[0] = request.version[0];
    version[1] = request.version[1];
    version[2] = request.version[2];
    return 0;
}

#endif
