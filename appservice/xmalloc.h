/*
 * Allocation that never returns NULL: an allocation failure aborts the
 * process (as tmux and h2o do), so no caller carries an untested
 * out-of-memory path.  Secrets are freed with xfree_secret(), which wipes
 * them first.
 */
#ifndef WARROOM_XMALLOC_H
#define WARROOM_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Wipes a NUL-terminated secret and frees it.  NULL is a no-op. */
void xfree_secret(char *secret);

#endif
