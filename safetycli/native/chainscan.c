/*
 * chainscan: one range of `verify`'s chain scan, compiled (issue 14: a million events in
 * Python cost 2.3 CPU seconds, a million row tuples and text rebuilds; in C the same scan is a
 * fraction of that).
 *
 * Argument and output lines are those of the Python worker (safetycli/chainscan.py `worker`):
 *
 *     chainscan PATH LO HI PREFIX TIMEOUT_MS     (LO, HI, PREFIX may be empty)
 *     p COUNT                                    after every 1,000 rows
 *     r {"first_seq": ..., "count": ..., ...}   the range's Span, when every row holds
 *
 * It answers only when it is certain the Python scan would give the same answer: every row of
 * the range holds, each field of the type safetycli writes, its text valid UTF-8. Anything else
 * (an edited row, a gap, a field of another type, text that is not UTF-8, a file SQLite cannot
 * read) exits with UNSURE and prints no result: verify then scans the log in Python, which
 * names the exact event. So this program only ever says "intact" about a range, and says it
 * exactly when the Python scan would.
 *
 * The canonical text it hashes is ledger._event_text's:
 *     PREV{"at":Q(at),"data":DATA,"kind":Q(kind),"person":Q(person)|null,"run":Q(run)|null,"seq":N}
 * where Q is json.encoder.encode_basestring (ensure_ascii=False): `"` and `\` and the control
 * characters below 0x20 escaped, everything else as it is.
 */

#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNSURE 3
#define TICK 1000

static void unsure(void) { exit(UNSURE); }

/* Progress for verify's bar, at once: the parent reads it line by line. */
static void tick(long long count) {
    printf("p %lld\n", count);
    fflush(stdout);
}

typedef struct {
    unsigned char *p;
    size_t len, cap;
} Buf;

static void reserve(Buf *b, size_t more) {
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) unsure();
    b->p = p;
    b->cap = cap;
}

static void put(Buf *b, const void *s, size_t n) {
    reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

/* encode_basestring: the seven short escapes, \u00XX for the other control characters. The
 * caller has reserved room for the worst case (six bytes a byte, and the quotes). */
static void put_quoted(Buf *b, const unsigned char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    unsigned char *o = b->p + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] != '"' && s[run] != '\\') run++;
        memcpy(o, s + i, run - i);
        o += run - i;
        if (run == n) break;
        unsigned char c = s[run];
        char esc = 0;
        switch (c) {
            case '"': esc = '"'; break;
            case '\\': esc = '\\'; break;
            case '\n': esc = 'n'; break;
            case '\r': esc = 'r'; break;
            case '\t': esc = 't'; break;
            case '\b': esc = 'b'; break;
            case '\f': esc = 'f'; break;
        }
        *o++ = '\\';
        if (esc) {
            *o++ = (unsigned char)esc;
        } else {
            memcpy(o, "u00", 3);
            o += 3;
            *o++ = (unsigned char)hex[c >> 4];
            *o++ = (unsigned char)hex[c & 15];
        }
        i = run + 1;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}

/* Strict UTF-8 as Python decodes it (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Python's sqlite3 refuses other text, and the Python scan then calls the row
 * altered; here it is simply not certain. */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* Eight ASCII bytes at a time: nearly all of a log is ASCII. */
        while (i + 8 <= n) {
            uint64_t word;
            memcpy(&word, s + i, 8);
            if (word & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        if (n - i - 1 < need) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
        i += need + 1;
    }
    return 1;
}

/* A text column's bytes, or UNSURE when it is not text, or not UTF-8. NULL when allowed. */
static const unsigned char *text(sqlite3_stmt *st, int col, size_t *n, int null_ok) {
    int type = sqlite3_column_type(st, col);
    if (type == SQLITE_NULL && null_ok) {
        *n = 0;
        return NULL;
    }
    if (type != SQLITE_TEXT) unsure();
    const unsigned char *s = sqlite3_column_text(st, col);
    *n = (size_t)sqlite3_column_bytes(st, col);
    if (!s || !valid_utf8(s, *n)) unsure();
    return s;
}

/* The number as Python's str(int) writes it (snprintf took a twentieth of the scan). */
static void put_number(Buf *b, long long value) {
    char digits[24];
    int n = 0;
    unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (value < 0) digits[n++] = '-';
    while (n) b->p[b->len++] = (unsigned char)digits[--n];
}

static void put_nullable(Buf *b, const unsigned char *s, size_t n) {
    if (s == NULL) {
        memcpy(b->p + b->len, "null", 4);
        b->len += 4;
    } else {
        put_quoted(b, s, n);
    }
}

int main(int argc, char **argv) {
    if (argc != 6) unsure();
    const char *path = argv[1], *lo = argv[2], *hi = argv[3], *prefix = argv[4];
    size_t prefix_len = strlen(prefix);

    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) unsure();
    sqlite3_busy_timeout(db, atoi(argv[5]));
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT seq, at, kind, run, person, data, prev_hash, hash FROM events%s%s%s "
             "ORDER BY seq",
             (*lo || *hi) ? " WHERE " : "", *lo ? "seq > ?1" : "",
             *hi ? (*lo ? " AND seq <= ?2" : "seq <= ?2") : "");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) unsure();
    if (*lo) sqlite3_bind_int64(st, 1, strtoll(lo, NULL, 10));
    if (*hi) sqlite3_bind_int64(st, 2, strtoll(hi, NULL, 10));

    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!md || !ctx) unsure();

    static const char hex[] = "0123456789abcdef";
    Buf row = {0}, first_prev = {0};
    char prev[65] = {0}; /* the stored hash of the row before, 64 hex digits */
    long long first_seq = 0, expected = 0, count = 0, last_seq = 0, match = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) unsure();
        long long seq = sqlite3_column_int64(st, 0);
        size_t n_at, n_kind, n_run, n_person, n_data, n_prev, n_hash;
        const unsigned char *at = text(st, 1, &n_at, 0);
        const unsigned char *kind = text(st, 2, &n_kind, 0);
        const unsigned char *run = text(st, 3, &n_run, 1);
        const unsigned char *person = text(st, 4, &n_person, 1);
        const unsigned char *data = text(st, 5, &n_data, 0);
        const unsigned char *stored_prev = text(st, 6, &n_prev, 0);
        const unsigned char *stored_hash = text(st, 7, &n_hash, 0);
        if (count == 0) {
            /* The first row's link is judged by whoever knows where the range before ended. */
            first_seq = expected = seq;
            reserve(&first_prev, 6 * n_prev + 2);
            put_quoted(&first_prev, stored_prev, n_prev);
            if (n_prev != 64) unsure(); /* then it can be no hash this program wrote */
            memcpy(prev, stored_prev, 64);
        }
        if (seq != expected || n_prev != 64 || memcmp(stored_prev, prev, 64) != 0) unsure();
        row.len = 0;
        /* Room for the worst case: every quoted byte escaped as \u00XX, the keys, the number. */
        reserve(&row, 64 + n_data + 6 * (n_at + n_kind + n_run + n_person) + 128);
        put(&row, prev, 64);
        puts_(&row, "{\"at\":");
        put_quoted(&row, at, n_at);
        puts_(&row, ",\"data\":");
        put(&row, data, n_data);
        puts_(&row, ",\"kind\":");
        put_quoted(&row, kind, n_kind);
        puts_(&row, ",\"person\":");
        put_nullable(&row, person, n_person);
        puts_(&row, ",\"run\":");
        put_nullable(&row, run, n_run);
        puts_(&row, ",\"seq\":");
        put_number(&row, seq);
        put(&row, "}", 1);

        unsigned char digest[32];
        unsigned int dlen = 0;
        if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, row.p, row.len) ||
            !EVP_DigestFinal_ex(ctx, digest, &dlen) || dlen != 32)
            unsure();
        char computed[64];
        for (int i = 0; i < 32; i++) {
            computed[2 * i] = hex[digest[i] >> 4];
            computed[2 * i + 1] = hex[digest[i] & 15];
        }
        if (n_hash != 64 || memcmp(computed, stored_hash, 64) != 0) unsure();
        if (match == 0 && prefix_len && prefix_len <= 64 && memcmp(computed, prefix, prefix_len) == 0)
            match = seq;
        memcpy(prev, computed, 64);
        expected++;
        count++;
        last_seq = seq;
        if (count % TICK == 0) tick(count);
    }
    if (rc != SQLITE_DONE) unsure();
    if (count % TICK) tick(count);

    Buf out = {0};
    char num[32];
    puts_(&out, "r {\"first_seq\": ");
    if (count) {
        snprintf(num, sizeof num, "%lld", first_seq);
        puts_(&out, num);
        puts_(&out, ", \"first_prev\": ");
        put(&out, first_prev.p, first_prev.len);
    } else {
        puts_(&out, "null, \"first_prev\": null");
    }
    snprintf(num, sizeof num, "%lld", count);
    puts_(&out, ", \"count\": ");
    puts_(&out, num);
    snprintf(num, sizeof num, "%lld", last_seq);
    puts_(&out, ", \"last_seq\": ");
    puts_(&out, num);
    puts_(&out, ", \"last_hash\": ");
    if (count) {
        put(&out, "\"", 1);
        put(&out, prev, 64);
        put(&out, "\"", 1);
    } else {
        puts_(&out, "null");
    }
    puts_(&out, ", \"bad_seq\": null, \"reason\": null, \"match\": ");
    if (match) {
        snprintf(num, sizeof num, "%lld", match);
        puts_(&out, num);
    } else {
        puts_(&out, "null");
    }
    puts_(&out, "}\n");
    fwrite(out.p, 1, out.len, stdout);
    if (fflush(stdout) != 0) unsure();
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}
