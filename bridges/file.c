/*
 * The file bridge: what a file sent to the room is, and its hashes.
 *
 *   !file              as a reply to a file message: that file
 *   !file info <mxc>   a file by its mxc:// address
 *
 * The file is downloaded as the file bot (bridge_media: the authenticated
 * media endpoint, else the legacy one), at most bridges.file.max_size
 * bytes: a file the message declares larger is refused without a
 * download, and a download that turns out larger is stopped by curl (at
 * once when the server sends Content-Length).  On the thread pool the
 * file's MD5, SHA-1 and SHA-256 are computed with OpenSSL's EVP API in one
 * pass, and its type with libmagic (a MIME type, and a description).  The
 * file lives only in memory, for the call; nothing is written to disk.
 *
 * libmagic handles are not thread-safe: the bridge loads its two (MIME
 * type, description) once at start-up, so that a missing database stops
 * warroom with a clear reason, and pool threads take turns with a mutex.
 * The handles are reference-counted, because work already on the pool at
 * shutdown still runs after the bridge's free().
 *
 * The verdict is "info", or "suspicious" when what the file claims to be
 * disagrees with what libmagic finds (file_mismatch() says exactly when).
 * Answers are not cached: the verdict depends on the message's name and
 * declared type, not only on the file.
 */
#include "autoconfig.h"

#include <json-c/json.h>
#include <magic.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "appservice/log.h"
#include "appservice/xmalloc.h"
#include "bridges/bridge.h"

/* Bytes hashed per update: the three digests read each piece while it is
 * still in the cache. */
#define FILE_HASH_CHUNK (256 * 1024)
/* Hex digits of the SHA-256 shown in the one-line summary. */
#define FILE_SUMMARY_HEX 16

/* The libmagic handles, shared by every call (see the top of the file). */
struct file_magic {
    magic_t mime; /* MAGIC_MIME_TYPE */
    magic_t desc; /* a description ("PE32 executable ...") */
    uv_mutex_t lock;
    unsigned refs; /* the bridge's, plus one per work on the pool; loop thread only */
};

struct file_state {
    struct bridge_state super;
    uint64_t max_size; /* bridges.file.max_size */
    struct file_magic *magic;
};

static const struct config_key file_config[] = {
    {.name = "max_size",
     .type = CONFIG_SIZE,
     .default_value = "32MiB",
     .help = "largest file !file downloads and hashes (it is held in memory)",
     .min = 1,
     .max = 1024LL * 1024 * 1024,
     .offset = offsetof(struct file_state, max_size)},
    {.name = NULL},
};

/* What the message says about the file, kept for the call
 * (bridge_call_attach). */
struct file_claim {
    char *name;     /* the file name, or NULL */
    char *mimetype; /* the declared MIME type, or NULL */
};

/* One file on its way through the pool: owned by the work. */
struct file_work {
    struct file_magic *magic;
    unsigned char *data;
    size_t len;
    char *name;
    char *declared; /* the message's MIME type, else the download's Content-Type; or NULL */
    /* Filled on the pool. */
    char md5[EVP_MAX_MD_SIZE * 2 + 1];
    char sha1[EVP_MAX_MD_SIZE * 2 + 1];
    char sha256[EVP_MAX_MD_SIZE * 2 + 1];
    char *mime;
    char *description;
    char *error; /* set if a digest could not be computed */
    double hash_ms;
};

/* Drops one reference to the magic handles; the last closes them. */
static void
file_magic_unref(struct file_magic *m)
{
    if (m == NULL || --m->refs > 0)
        return;
    if (m->mime != NULL)
        magic_close(m->mime);
    if (m->desc != NULL)
        magic_close(m->desc);
    uv_mutex_destroy(&m->lock);
    free(m);
}

/* Opens a libmagic handle with flags and its default database.  Returns
 * NULL with an allocated reason in *cause. */
static magic_t
file_magic_open(int flags, char **cause)
{
    magic_t m = magic_open(flags);

    if (m == NULL) {
        *cause = xstrdup("libmagic cannot start");
        return NULL;
    }
    if (magic_load(m, NULL) != 0) {
        *cause = xasprintf("libmagic cannot load its database (%s): install the Debian package libmagic-mgc",
                           magic_error(m) != NULL ? magic_error(m) : "no reason given");
        magic_close(m);
        return NULL;
    }
    return m;
}

/* bridge->init: loads the libmagic database. */
static int
file_init(struct bridge_state *bst, uv_loop_t *loop, char **cause)
{
    struct file_state *st = (struct file_state *)bst;
    struct file_magic *m = xcalloc(1, sizeof(*m));
    int rc;

    (void)loop;
    if ((rc = uv_mutex_init(&m->lock)) != 0) {
        *cause = xasprintf("cannot make a mutex: %s", uv_strerror(rc));
        free(m);
        return -1;
    }
    m->refs = 1;
    if ((m->mime = file_magic_open(MAGIC_MIME_TYPE, cause)) == NULL ||
        (m->desc = file_magic_open(MAGIC_NONE, cause)) == NULL) {
        file_magic_unref(m);
        return -1;
    }
    st->magic = m;
    return 0;
}

/* bridge->free: the bridge lets go of the handles (work on the pool may
 * still hold them). */
static void
file_free(struct bridge_state *bst)
{
    struct file_state *st = (struct file_state *)bst;

    file_magic_unref(st->magic);
    st->magic = NULL;
}

static void
file_claim_free(void *data)
{
    struct file_claim *c = data;

    if (c == NULL)
        return;
    free(c->name);
    free(c->mimetype);
    free(c);
}

static void
file_work_free(struct file_work *w)
{
    if (w == NULL)
        return;
    file_magic_unref(w->magic);
    free(w->data);
    free(w->name);
    free(w->declared);
    free(w->mime);
    free(w->description);
    free(w->error);
    free(w);
}

/* "73.8 KiB": a size for people.  Returns allocated. */
static char *
file_size_text(uint64_t n)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;

    if (n < 1024)
        return xasprintf("%llu byte%s", (unsigned long long)n, n == 1 ? "" : "s");
    v /= 1024;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    return xasprintf("%.1f %s", v, units[u]);
}

/* A MIME type without parameters, lower case ("Text/Plain; charset=x" ->
 * "text/plain").  Returns allocated, or NULL for NULL or empty. */
static char *
file_mime_base(const char *mime)
{
    size_t n;
    char *out;

    if (mime == NULL)
        return NULL;
    n = strcspn(mime, "; \t");
    if (n == 0)
        return NULL;
    out = xstrndup(mime, n);
    for (char *p = out; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return out;
}

/* Whether s is one of the NULL-terminated list; an entry ending in '/' or
 * '.' matches as a prefix ("text/", "application/vnd.openxmlformats-"). */
static int
file_in(const char *s, const char *const *list)
{
    for (; *list != NULL; list++) {
        size_t n = strlen(*list);

        if ((*list)[n - 1] == '/' || (*list)[n - 1] == '.') {
            if (strncasecmp(s, *list, n) == 0)
                return 1;
        } else if (strcasecmp(s, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Detected MIME types of native code: Windows PE, ELF, Mach-O. */
static const char *const file_exec_mimes[] = {
    "application/vnd.microsoft.portable-executable",
    "application/x-dosexec",
    "application/x-msdownload",
    "application/x-executable",
    "application/x-sharedlib",
    "application/x-pie-executable",
    "application/x-object",
    "application/x-coredump",
    "application/x-mach-binary",
    NULL,
};

/* Extensions under which native code is expected (and no extension). */
static const char *const file_exec_exts[] = {
    "exe", "dll", "sys", "scr", "com", "cpl",   "ocx", "drv", "efi",    "mui",      "ax", "bin",
    "elf", "so",  "o",   "ko",  "out", "dylib", "run", "axf", "x86_64", "appimage", NULL,
};

/* Declared types that do not contradict native code: generic binary
 * data, and the executable types themselves. */
static const char *const file_exec_declared[] = {
    "application/octet-stream",
    "binary/octet-stream",
    "application/x-binary",
    "application/x-msdos-program",
    "application/x-ms-dos-executable",
    "application/x-elf",
    "application/x-msdownload",
    "application/vnd.microsoft.portable-executable",
    "application/x-dosexec",
    "application/x-executable",
    "application/x-sharedlib",
    "application/x-pie-executable",
    "application/x-mach-binary",
    "application/x-object",
    NULL,
};

static const char *const file_ole[] = {
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-office",
    "application/x-ole-storage",
    "application/cdfv2",
    NULL,
};
static const char *const file_ooxml[] = {"application/vnd.openxmlformats-officedocument.", "application/zip", NULL};
static const char *const file_text[] = {"text/", NULL};
static const char *const file_image[] = {"image/", NULL};
static const char *const file_pdf[] = {"application/pdf", NULL};
static const char *const file_zip[] = {"application/zip", NULL};
static const char *const file_json[] = {"application/json", "text/", NULL};
static const char *const file_rtf[] = {"text/rtf", "application/rtf", NULL};
static const char *const file_mail[] = {"message/rfc822", "text/", NULL};
static const char *const file_gzip[] = {"application/gzip", "application/x-gzip", NULL};

/* Document, image and archive kinds: the extension, the MIME type a
 * client declares for it, and the detected types that fit it. */
static const struct file_kind {
    const char *ext;
    const char *declared;
    const char *const *fits;
} file_kinds[] = {
    {"pdf", "application/pdf", file_pdf},
    {"doc", "application/msword", file_ole},
    {"xls", "application/vnd.ms-excel", file_ole},
    {"ppt", "application/vnd.ms-powerpoint", file_ole},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", file_ooxml},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", file_ooxml},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", file_ooxml},
    {"rtf", "application/rtf", file_rtf},
    {"rtf", "text/rtf", file_rtf},
    {"txt", "text/plain", file_text},
    {"log", NULL, file_text},
    {"csv", "text/csv", file_text},
    {"htm", NULL, file_text},
    {"html", "text/html", file_text},
    {"json", "application/json", file_json},
    {"eml", "message/rfc822", file_mail},
    {"png", "image/png", file_image},
    {"jpg", "image/jpeg", file_image},
    {"jpeg", NULL, file_image},
    {"gif", "image/gif", file_image},
    {"zip", "application/zip", file_zip},
    {"gz", "application/gzip", file_gzip},
};

#define FILE_NKINDS (sizeof(file_kinds) / sizeof(file_kinds[0]))

/* The extension of name, lower case, without the dot; "so" for
 * versioned libraries (libc.so.6).  Returns allocated, or NULL if name
 * has none. */
static char *
file_extension(const char *name)
{
    const char *dot, *slash, *so;
    char *ext;

    if (name == NULL)
        return NULL;
    slash = strrchr(name, '/');
    if (slash != NULL)
        name = slash + 1;
    if ((so = strstr(name, ".so.")) != NULL && so[4 + strspn(so + 4, "0123456789.")] == '\0')
        return xstrdup("so");
    dot = strrchr(name, '.');
    if (dot == NULL || dot == name || dot[1] == '\0')
        return NULL;
    ext = xstrdup(dot + 1);
    for (char *p = ext; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return ext;
}

/*
 * Whether the file is not what it claims to be.  Two rules, and nothing
 * else is flagged:
 *   1. the content is native code (PE, ELF, Mach-O, by libmagic's MIME
 *      type) while the name has an extension that is not an executable
 *      one (.exe, .dll, .so, ...; no extension is fine), or the message
 *      declares a specific type other than an executable one (generic
 *      application/octet-stream is fine);
 *   2. libmagic recognises the content (not merely "data" or empty), the
 *      name's extension or the declared type is a known document, image
 *      or archive kind (.pdf, .docx, .png, text/plain ...), and the
 *      content is not of that kind (images may be any image type, text
 *      any text type, .docx also a plain zip).
 * Returns an allocated explanation, or NULL if the file is what it says.
 */
static char *
file_mismatch(const char *name, const char *declared, const char *detected, const char *description)
{
    char *ext = file_extension(name), *claims = NULL, *out = NULL;
    const struct file_kind *by_ext = NULL, *by_decl = NULL;
    int exec = file_in(detected, file_exec_mimes), ext_bad = 0, decl_bad = 0;

    for (size_t i = 0; i < FILE_NKINDS; i++) {
        if (ext != NULL && by_ext == NULL && strcmp(file_kinds[i].ext, ext) == 0)
            by_ext = &file_kinds[i];
        if (declared != NULL && by_decl == NULL && file_kinds[i].declared != NULL &&
            strcmp(file_kinds[i].declared, declared) == 0)
            by_decl = &file_kinds[i];
    }
    if (exec) {
        ext_bad = ext != NULL && !file_in(ext, file_exec_exts);
        decl_bad = declared != NULL && !file_in(declared, file_exec_declared);
    } else if (strcmp(detected, "application/octet-stream") != 0 && strcmp(detected, "application/x-empty") != 0 &&
               strcmp(detected, "inode/x-empty") != 0) {
        ext_bad = by_ext != NULL && !file_in(detected, by_ext->fits);
        decl_bad = by_decl != NULL && !file_in(detected, by_decl->fits);
    }
    if (ext_bad && decl_bad)
        claims = xasprintf("named .%s and declared %s", ext, declared);
    else if (ext_bad)
        claims = xasprintf("named .%s", ext);
    else if (decl_bad)
        claims = xasprintf("declared %s", declared);
    if (claims != NULL)
        out = xasprintf("%s, but the content is %s%s (%s)", claims, exec ? "native code: " : "", detected, description);
    free(claims);
    free(ext);
    return out;
}

/* Lower-case hex of a digest into out (room for 2 * len + 1). */
static void
file_hex(const unsigned char *md, unsigned len, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (unsigned i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[2 * len] = '\0';
}

/* MD5, SHA-1 and SHA-256 of the data in one pass.  Returns 0, or -1 with
 * w->error set. */
static int
file_digests(struct file_work *w)
{
    const EVP_MD *md[3] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
    char *out[3] = {w->md5, w->sha1, w->sha256};
    static const char *const names[3] = {"MD5", "SHA-1", "SHA-256"};
    EVP_MD_CTX *ctx[3] = {NULL, NULL, NULL};
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen;
    int i, ret = -1;

    for (i = 0; i < 3; i++) {
        if (md[i] == NULL || (ctx[i] = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx[i], md[i], NULL) != 1) {
            w->error = xasprintf("OpenSSL cannot compute %s", names[i]);
            goto out;
        }
    }
    for (size_t off = 0; off < w->len; off += FILE_HASH_CHUNK) {
        size_t n = w->len - off < FILE_HASH_CHUNK ? w->len - off : FILE_HASH_CHUNK;

        for (i = 0; i < 3; i++) {
            if (EVP_DigestUpdate(ctx[i], w->data + off, n) != 1) {
                w->error = xasprintf("OpenSSL failed while computing %s", names[i]);
                goto out;
            }
        }
    }
    for (i = 0; i < 3; i++) {
        if (EVP_DigestFinal_ex(ctx[i], digest, &dlen) != 1) {
            w->error = xasprintf("OpenSSL failed while computing %s", names[i]);
            goto out;
        }
        file_hex(digest, dlen, out[i]);
    }
    ret = 0;
out:
    for (i = 0; i < 3; i++)
        EVP_MD_CTX_free(ctx[i]);
    return ret;
}

/* On a pool thread: the digests, then the type under the magic lock.
 * Touches only w. */
static void
file_work_run(void *arg)
{
    struct file_work *w = arg;
    uint64_t t0 = uv_hrtime();
    const char *s;

    if (file_digests(w) != 0)
        return;
    w->hash_ms = (double)(uv_hrtime() - t0) / 1e6;
    uv_mutex_lock(&w->magic->lock);
    s = magic_buffer(w->magic->mime, w->data, w->len);
    w->mime = xstrdup(s != NULL ? s : "application/octet-stream");
    s = magic_buffer(w->magic->desc, w->data, w->len);
    w->description = xstrdup(s != NULL ? s : "unknown");
    uv_mutex_unlock(&w->magic->lock);
}

/* Builds the answer from a finished work. */
static struct bridge_result *
file_result(const struct file_work *w)
{
    const char *name = w->name != NULL ? w->name : "the file";
    char *size = file_size_text(w->len), *size_row, *mismatch, *brief;
    struct bridge_result *r = bridge_result_new("%s: %s", name, w->description);
    struct json_object *raw = json_object_new_object();

    mismatch = file_mismatch(w->name, w->declared, w->mime, w->description);
    bridge_result_verdict(r, mismatch != NULL ? BRIDGE_VERDICT_SUSPICIOUS : BRIDGE_VERDICT_INFO);
    bridge_result_columns(r, "Field", "Value", NULL);
    bridge_result_row(r, "Name", name, NULL);
    size_row = w->len < 1024 ? xstrdup(size) : xasprintf("%zu bytes (%s)", w->len, size);
    bridge_result_row(r, "Size", size_row, NULL);
    bridge_result_row(r, "MIME type", w->mime, NULL);
    if (w->declared != NULL)
        bridge_result_row(r, "Declared type", w->declared, NULL);
    bridge_result_row(r, "Description", w->description, NULL);
    bridge_result_row(r, "MD5", w->md5, NULL);
    bridge_result_row(r, "SHA-1", w->sha1, NULL);
    bridge_result_row(r, "SHA-256", w->sha256, NULL);
    if (mismatch != NULL)
        bridge_result_row(r, "Mismatch", mismatch, NULL);
    bridge_result_artifact(r, IND_MD5, w->md5);
    bridge_result_artifact(r, IND_SHA1, w->sha1);
    bridge_result_artifact(r, IND_SHA256, w->sha256);
    /* The description up to its first comma: "PE32 executable (GUI) Intel 80386". */
    brief = xstrndup(w->description, strcspn(w->description, ","));
    if (mismatch != NULL)
        bridge_result_summary(r, "%s, %s, sha256 %.*s\xe2\x80\xa6; %s", brief, size, FILE_SUMMARY_HEX, w->sha256,
                              mismatch);
    else
        bridge_result_summary(r, "%s, %s, sha256 %.*s\xe2\x80\xa6", brief, size, FILE_SUMMARY_HEX, w->sha256);
    json_object_object_add(raw, "name", w->name != NULL ? json_object_new_string(w->name) : NULL);
    json_object_object_add(raw, "size", json_object_new_int64((int64_t)w->len));
    json_object_object_add(raw, "mimetype", json_object_new_string(w->mime));
    json_object_object_add(raw, "declared_mimetype", w->declared != NULL ? json_object_new_string(w->declared) : NULL);
    json_object_object_add(raw, "description", json_object_new_string(w->description));
    json_object_object_add(raw, "md5", json_object_new_string(w->md5));
    json_object_object_add(raw, "sha1", json_object_new_string(w->sha1));
    json_object_object_add(raw, "sha256", json_object_new_string(w->sha256));
    json_object_object_add(raw, "mismatch", mismatch != NULL ? json_object_new_string(mismatch) : NULL);
    bridge_result_raw(r, raw);
    free(brief);
    free(mismatch);
    free(size_row);
    free(size);
    return r;
}

/* Back on the loop: the answer (unless the call ended meanwhile). */
static void
file_work_after(struct bridge_call *call, void *arg)
{
    struct file_work *w = arg;

    if (call != NULL) {
        if (w->error != NULL) {
            bridge_fail(call, NULL, "the file's hashes could not be computed: %s", w->error);
        } else {
            log_info("bridges: file hashed %zu bytes in %.1f ms (%s)", w->len, w->hash_ms, w->mime);
            bridge_done(call, file_result(w));
        }
    }
    file_work_free(w);
}

/* The refusal of a file over the limit. */
static void
file_too_large(struct bridge_call *call, uint64_t size, const char *how)
{
    struct file_state *st = (struct file_state *)bridge_call_state(call);
    char *limit = file_size_text(st->max_size), *have = size > 0 ? file_size_text(size) : NULL;

    if (have != NULL)
        bridge_fail(call, NULL, "the file is %s, larger than the %s warroom reads (bridges.file.max_size); %s", have,
                    limit, how);
    else
        bridge_fail(call, NULL, "the file is larger than the %s warroom reads (bridges.file.max_size); %s", limit, how);
    free(limit);
    free(have);
}

/* The download has ended. */
static void
file_on_media(struct bridge_call *call, const void *data, size_t len, const char *content_type, const char *error,
              void *arg)
{
    struct file_state *st = (struct file_state *)bridge_call_state(call);
    struct file_claim *claim = arg;
    struct file_work *w;

    if (data == NULL) {
        if (len > st->max_size)
            file_too_large(call, 0, "the download was stopped there");
        else
            bridge_fail(call, error, "the file could not be downloaded from the homeserver (%s)", error);
        return;
    }
    w = xcalloc(1, sizeof(*w));
    w->magic = st->magic;
    w->magic->refs++;
    w->data = xmalloc(len > 0 ? len : 1);
    memcpy(w->data, data, len);
    w->len = len;
    w->name = claim->name != NULL ? xstrdup(claim->name) : NULL;
    w->declared = file_mime_base(claim->mimetype != NULL ? claim->mimetype : content_type);
    bridge_progress(call, "computing the hashes of %s", claim->name != NULL ? claim->name : "the file");
    bridge_work(call, file_work_run, file_work_after, w);
}

/* The string member key of o, or NULL. */
static const char *
file_json_string(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* !file [info] [mxc://...]: downloads, hashes and identifies a file. */
static void
file_info(struct bridge_call *call)
{
    struct file_state *st = (struct file_state *)bridge_call_state(call);
    const char *uri = bridge_call_arg(call, "file");
    struct json_object *content = bridge_call_reply_content(call), *info, *v;
    struct file_claim *claim = xcalloc(1, sizeof(*claim));

    bridge_call_attach(call, claim, file_claim_free);
    if (uri == NULL || strncmp(uri, "mxc://", 6) != 0) {
        bridge_fail(call, NULL, "\"%s\" is not a file: reply !file to a file message, or give its mxc:// address",
                    uri != NULL ? uri : "");
        return;
    }
    /* What the message replied to says, if the file came from it. */
    if (bridge_call_arg_type(call, "file") == IND_FILE && content != NULL) {
        const char *name = file_json_string(content, "filename");

        if (name == NULL)
            name = file_json_string(content, "body");
        claim->name = name != NULL ? xstrdup(name) : NULL;
        if (json_object_object_get_ex(content, "info", &info) && json_object_is_type(info, json_type_object)) {
            if (file_json_string(info, "mimetype") != NULL)
                claim->mimetype = xstrdup(file_json_string(info, "mimetype"));
            /* A file the message declares too large is not downloaded at all. */
            if (json_object_object_get_ex(info, "size", &v) && json_object_is_type(v, json_type_int) &&
                json_object_get_int64(v) > 0 && (uint64_t)json_object_get_int64(v) > st->max_size) {
                file_too_large(call, (uint64_t)json_object_get_int64(v), "it was not downloaded");
                return;
            }
        }
    }
    bridge_progress(call, "downloading %s", claim->name != NULL ? claim->name : "the file");
    bridge_media(call, uri, (size_t)st->max_size, file_on_media, claim);
}

static const struct bridge_arg file_info_args[] = {
    {.name = "file",
     .help = "the file message replied to, or an mxc:// address",
     .types = IND_FILE,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED | BRIDGE_ARG_FROM_REPLY},
    {.name = NULL},
};

static const struct bridge_command file_commands[] = {
    {.name = "info",
     .usage = "info [mxc://server/id]",
     .help = "the type (libmagic), size, MD5, SHA-1 and SHA-256 of a file replied to, flagging a disguised one",
     .args = file_info_args,
     .level = PERM_ANALYST,
     .run = file_info},
    {.name = NULL},
};

const struct bridge bridge_file = {
    .name = "file",
    .displayname = "File",
    .description = "identify a file sent to the room and compute its hashes",
    .level = PERM_ANALYST,
    .enabled_by_default = 0,
    .commands = file_commands,
    .config = file_config,
    .state_size = sizeof(struct file_state),
    .init = file_init,
    .free = file_free,
};
