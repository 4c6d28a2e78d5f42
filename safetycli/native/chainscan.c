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
 *     chainscan PATH LO HI PREFIX TIMEOUT_MS --sums    the same, and the result gains "sums":
 *                                                      keyed sums over the index entries the
 *                                                      rows it read must have (below)
 *     chainscan --indexes PATH TIMEOUT_MS              the index half of the structure check
 *     chainscan --prf                                  the keyed function alone (its tests)
 *
 * With --sums and --indexes the 16-byte key (32 hex digits, one line) comes on stdin, never in
 * argv (which every user of the machine can read).
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
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* ------------------------------------------------------------------------------------------
 * SipHash-2-4 with its 128-bit output (Aumasson and Bernstein, "SipHash: a fast short-input
 * PRF", 2012; the 128-bit variant of their reference implementation), written from the
 * specification. Keyed with a random key per verify, it makes the sums below unforgeable by
 * someone who edits the file: a set of index entries that is not the table's own has the same
 * two 64-bit sums only by a chance of about 2^-128 per try, and nobody sees the key. */

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static inline uint64_t load64(const unsigned char *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define SIPROUND                                                                     \
    do {                                                                             \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                    \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                       \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                       \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                    \
    } while (0)

/* SipHash-2-4 of the n bytes at m under key (k0, k1): out[0] alone when wide is 0 (the 64-bit
 * output of the paper), out[0] and out[1] when wide is 1 (the 128-bit output). */
static void siphash(const unsigned char *m, size_t n, uint64_t k0, uint64_t k1, int wide,
                    uint64_t out[2]) {
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    if (wide) v1 ^= 0xee;
    size_t end = n - n % 8;
    for (size_t i = 0; i < end; i += 8) {
        uint64_t w = load64(m + i);
        v3 ^= w;
        SIPROUND;
        SIPROUND;
        v0 ^= w;
    }
    uint64_t last = (uint64_t)(n & 0xff) << 56;
    for (size_t i = 0; i < n % 8; i++) last |= (uint64_t)m[end + i] << (8 * i);
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= wide ? 0xee : 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    out[0] = v0 ^ v1 ^ v2 ^ v3;
    if (!wide) return;
    v1 ^= 0xdd;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    out[1] = v0 ^ v1 ^ v2 ^ v3;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* n bytes from 2n lowercase hex digits; 0 when the text is anything else. */
static int unhex(const char *s, size_t len, unsigned char *out, size_t n) {
    if (len != 2 * n) return 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

/* The key's line on stdin: 32 hex digits. */
static void read_key(uint64_t key[2]) {
    char line[80];
    if (!fgets(line, sizeof line, stdin)) unsure();
    size_t len = strcspn(line, "\n");
    unsigned char raw[16];
    if (!unhex(line, len, raw, 16)) unsure();
    key[0] = load64(raw);
    key[1] = load64(raw + 8);
}

/* The indexes of events the structure check reads (ledger.LEAN_INDEXES), in the order of the
 * sums: each entry is (key, rowid), and the key is the row's run, person and kind. */
#define INDEXES 3
static const char *const INDEX_NAME[INDEXES] = {"events_run", "events_person", "events_kind"};

typedef struct {
    long long count;
    uint64_t a, b; /* the two halves of the keyed function, summed modulo 2^64 */
} Sums;

/* One entry (index i, key bytes, rowid) into the sums: the function of one byte naming the
 * index, the rowid's eight bytes and the key (the only part of variable length, so the
 * message says which triple it is). */
static void add_entry(Sums *sums, const uint64_t key[2], int i, const unsigned char *k, size_t n,
                      long long rowid, Buf *msg) {
    msg->len = 0;
    reserve(msg, n + 9);
    msg->p[0] = (unsigned char)i;
    uint64_t r = (uint64_t)rowid;
    for (int j = 0; j < 8; j++) msg->p[1 + j] = (unsigned char)(r >> (8 * j));
    if (n) memcpy(msg->p + 9, k, n);
    uint64_t out[2];
    siphash(msg->p, n + 9, key[0], key[1], 1, out);
    sums->count++;
    sums->a += out[0];
    sums->b += out[1];
}

static void put_sums(Buf *out, const Sums sums[INDEXES]) {
    char num[96];
    put(out, "[", 1);
    for (int i = 0; i < INDEXES; i++) {
        snprintf(num, sizeof num, "%s[%lld, %llu, %llu]", i ? ", " : "", sums[i].count,
                 (unsigned long long)sums[i].a, (unsigned long long)sums[i].b);
        puts_(out, num);
    }
    put(out, "]", 1);
}

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

static int chain_main(int argc, char **argv) {
    int with_sums = argc == 7 && strcmp(argv[6], "--sums") == 0;
    if (argc != 6 && !with_sums) unsure();
    uint64_t key[2] = {0, 0};
    Sums sums[INDEXES];
    memset(sums, 0, sizeof sums);
    Buf msg = {0};
    if (with_sums) read_key(key);
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
        if (with_sums) {
            /* The entries each index must hold for this row (SQLite's integrity_check builds the
             * same keys from the row): run and person when not NULL, kind always. */
            if (run) add_entry(&sums[0], key, 0, run, n_run, seq, &msg);
            if (person) add_entry(&sums[1], key, 1, person, n_person, seq, &msg);
            add_entry(&sums[2], key, 2, kind, n_kind, seq, &msg);
        }
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
    puts_(&out, ", \"sums\": ");
    if (with_sums)
        put_sums(&out, sums);
    else
        puts_(&out, "null"); /* as the Python worker's line has it */
    puts_(&out, "}\n");
    fwrite(out.p, 1, out.len, stdout);
    if (fflush(stdout) != 0) unsure();
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * --indexes: the index half of verify's structure check (safetycli/structcheck.py says what it
 * proves and why). Each of the three indexes' b-trees is walked page by page from the database
 * file itself, in tree order, every cell of every page (an index's interior cells are entries
 * too), and every entry's record read field by field as SQLite's lookups read it: its header
 * (size, then exactly two serial types: a TEXT key and an INTEGER rowid) and its payload exactly
 * those fields' bytes. A covering scan through SQLite is not enough: it takes the rowid from the
 * record's END (IdxRowid), so an entry a byte short whose key ends in its rowid's byte reads
 * right there and is found by no lookup (tests/test_structcheck_attack.py). It answers
 * "i {...}" only when every entry holds that layout, each strictly after the one before
 * (BINARY: bytes, then length; then rowid), with the count and keyed sums of the entries.
 * Any doubt: "u WHY" and UNSURE, and verify runs SQLite's full check. The file is the
 * attacker's: every offset is checked before it is read, every page is visited once at most,
 * the depth is bounded, so no file makes this hang or read out of bounds. */

static void doubt(const char *why, const char *index) {
    printf("u %s%s%s\n", why, index ? ": " : "", index ? index : "");
    fflush(stdout);
    exit(UNSURE);
}

#define MAX_DEPTH 20
/* The reason the attack's entries are refused: tests look for these words. */
#define NOT_KEY_ROWID "an entry not stored as exactly (key, rowid)"
#define EMPTY_PAGE "a page without cells other than an empty index's root"

typedef struct {
    sqlite3_file *file; /* the main database file, through SQLite's own handle (see walk_file) */
    int index;           /* which of INDEX_NAME */
    long long size;      /* page size */
    long long usable;    /* U: the page size less the reserved bytes */
    long long pages;     /* pages in the file */
    long long local_max; /* the largest payload an index cell keeps on its page */
    unsigned char *seen; /* a bit per page: visited */
    unsigned char *page; /* one buffer per depth */
    const uint64_t *key;
    Sums *sums;
    Buf prev, msg;
    long long prev_rowid;
    int first;
} Walk;

/* A varint of the record format at p[0..], no further than end; its length, 0 when it runs
 * past end. */
static int get_varint(const unsigned char *p, const unsigned char *end, uint64_t *v) {
    uint64_t x = 0;
    for (int i = 0; i < 9; i++) {
        if (p + i >= end) return 0;
        if (i == 8) {
            *v = x << 8 | p[8];
            return 9;
        }
        x = x << 7 | (p[i] & 0x7f);
        if (p[i] < 0x80) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* The bytes of the shortest varint of v: the only form SQLite writes. Its lookups read some
 * varints as bytes (a record's header size as its first byte, the key's serial type as its
 * second: vdbeRecordCompareString), so an entry is (key, rowid) to them only in that form
 * (tests/test_structcheck_attack2.py). */
static int varint_len(uint64_t v) {
    if (v >> 56) return 9;
    int n = 1;
    while (v >>= 7) n++;
    return n;
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static unsigned long get32(const unsigned char *p) {
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* Bytes of an integer field of this serial type; -1 for any type that is not an integer. */
static int int_size(uint64_t serial) {
    static const int size[] = {-1, 1, 2, 3, 4, 6, 8, -1, 0, 0};
    return serial < 10 ? size[serial] : -1;
}

/* One cell's payload (P bytes at p, all on the page): the record (key TEXT, rowid INTEGER) and
 * nothing else, then in order after the entry before, into the sums. */
static void entry(Walk *w, const unsigned char *p, uint64_t payload) {
    const char *name = INDEX_NAME[w->index];
    const unsigned char *end = p + payload;
    uint64_t header, text_type, int_type;
    int a = get_varint(p, end, &header);
    if (!a || header > payload) doubt(NOT_KEY_ROWID, name);
    int b = get_varint(p + a, p + header, &text_type);
    int c = b ? get_varint(p + a + b, p + header, &int_type) : 0;
    /* Exactly two serial types fill the header; the key a text, the rowid an integer. */
    if (!b || !c || (uint64_t)(a + b + c) != header) doubt(NOT_KEY_ROWID, name);
    /* Each varint in the shortest form, as SQLite writes and its comparators read them. */
    if (a != varint_len(header) || b != varint_len(text_type) || c != varint_len(int_type))
        doubt(NOT_KEY_ROWID, name);
    if (text_type < 13 || text_type % 2 == 0) doubt(NOT_KEY_ROWID, name);
    int isize = int_size(int_type);
    if (isize < 0) doubt(NOT_KEY_ROWID, name);
    uint64_t n = (text_type - 13) / 2;
    /* The record is those fields and not a byte more or less: what the attack forged. */
    if (header + n + (uint64_t)isize != payload) doubt(NOT_KEY_ROWID, name);
    const unsigned char *k = p + header, *r = k + n;
    long long rowid;
    if (int_type == 8 || int_type == 9) {
        rowid = (long long)int_type - 8;
    } else {
        uint64_t v = r[0] & 0x80 ? ~(uint64_t)0 : 0; /* big-endian, two's complement */
        for (int j = 0; j < isize; j++) v = v << 8 | r[j];
        rowid = (long long)v;
    }
    if (!w->first) {
        size_t common = w->prev.len < n ? w->prev.len : (size_t)n;
        int cmp = common ? memcmp(w->prev.p, k, common) : 0;
        if (cmp == 0) cmp = w->prev.len < n ? -1 : w->prev.len > n ? 1 : 0;
        if (cmp == 0) cmp = w->prev_rowid < rowid ? -1 : w->prev_rowid > rowid ? 1 : 0;
        if (cmp >= 0) doubt("an entry out of order", name);
    }
    w->first = 0;
    w->prev.len = 0;
    put(&w->prev, k, (size_t)n);
    w->prev_rowid = rowid;
    add_entry(w->sums, w->key, w->index, k, (size_t)n, rowid, &w->msg);
}

/* The subtree under page `pageno`, in order: an interior index page (0x02) gives, for each
 * cell, its left child's subtree and then the cell's entry, and last its right-most child's
 * subtree; a leaf (0x0A) its cells' entries. */
static void subtree(Walk *w, unsigned long pageno, int depth) {
    const char *name = INDEX_NAME[w->index];
    if (depth >= MAX_DEPTH) doubt("an index deeper than any b-tree of this file", name);
    /* Page 1 is the schema's; beyond the file is nothing. */
    if (pageno < 2 || (long long)pageno > w->pages) doubt("a page number out of the file", name);
    if (w->seen[pageno / 8] & (1u << (pageno % 8))) doubt("a page reached twice", name);
    w->seen[pageno / 8] |= (unsigned char)(1u << (pageno % 8));
    unsigned char *page = w->page + (size_t)depth * (size_t)w->size;
    if (w->file->pMethods->xRead(w->file, page, (int)w->size, (pageno - 1) * w->size) != SQLITE_OK)
        doubt("cannot read a page", name);
    int interior = page[0] == 0x02;
    if (!interior && page[0] != 0x0A) doubt("a page that is not an index page", name);
    long long head = interior ? 12 : 8, cells = get16(page + 3);
    long long content = get16(page + 5) ? get16(page + 5) : 65536;
    if (head + 2 * cells > content || content > w->usable) doubt("a page's cells out of place", name);
    /* SQLite's cursor calls any other page without cells corrupt (getAndInitPage, moveToRoot:
     * an empty interior root is page 1's alone), where quick_check does not. */
    if (cells == 0 && (interior || depth > 0)) doubt(EMPTY_PAGE, name);
    for (long long i = 0; i < cells; i++) {
        long long at = get16(page + head + 2 * i);
        if (at < content || at >= w->usable) doubt("a cell out of its page's content", name);
        const unsigned char *p = page + at, *end = page + w->usable;
        if (interior) {
            if (end - p < 4) doubt("a cell out of its page's content", name);
            subtree(w, get32(p), depth + 1);
            p += 4;
        }
        uint64_t payload;
        int used = get_varint(p, end, &payload);
        if (!used) doubt("a cell out of its page's content", name);
        if (used != varint_len(payload)) doubt(NOT_KEY_ROWID, name);
        if (payload > (uint64_t)w->local_max) doubt("an entry on overflow pages", name);
        if (payload > (uint64_t)(end - p - used)) doubt("a cell out of its page's content", name);
        entry(w, p + used, payload);
    }
    if (interior) subtree(w, get32(page + 8), depth + 1);
}

/* Whether the database file alone is this transaction's snapshot (the caller has read in it).
 *
 * With the -wal absent or empty once the read transaction has its snapshot, SQLite took
 * WAL_READ_LOCK(0) for it ("the WAL is empty or wholly copied back: read the file"). The file
 * is then written only by a checkpoint's backfill, which must hold that lock exclusively and
 * so waits until this transaction ends; a restart or truncation of the -wal changes only the
 * -wal; writers only append frames to the -wal. So while the transaction stays open nothing
 * changes a page of the file under the walk, and every page the snapshot reads is the file's.
 * A -wal with frames (a board, a walk-through, a command with the log open): some pages of the
 * snapshot may be there, not in the file: doubt, and the full statement runs. (In rollback
 * mode the transaction's SHARED lock keeps every writer out of the file in the same way.) */
static int file_is_snapshot(sqlite3 *db) {
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
    if (!wal) return 0;
    struct stat st;
    if (stat(wal, &st) != 0) return errno == ENOENT;
    return S_ISREG(st.st_mode) && st.st_size == 0;
}

static long long pragma_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) doubt("cannot prepare", sql);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_INTEGER)
        doubt("cannot read", sql);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int index_main(int argc, char **argv) {
    if (argc != 4) unsure();
    uint64_t key[2];
    read_key(key);
    sqlite3 *db;
    if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        doubt("cannot open the log", NULL);
    sqlite3_busy_timeout(db, atoi(argv[3]));
    /* One read transaction: the roots, the walk and max(seq) see one log. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) doubt("cannot begin", NULL);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT max(seq) FROM events", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        doubt("cannot read max(seq)", NULL);
    int type = sqlite3_column_type(st, 0);
    if (type != SQLITE_NULL && type != SQLITE_INTEGER) doubt("max(seq) not a number", NULL);
    long long max_seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    /* The snapshot is taken: from here on the file must be it (file_is_snapshot). */
    if (!file_is_snapshot(db)) doubt("the log has frames in its -wal", NULL);

    /* SQLite's own handle on the file: reads through it take no lock of their own, and no
     * second descriptor is opened (closing one would drop this process's POSIX locks). */
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
        !file->pMethods)
        doubt("cannot reach the file", NULL);
    unsigned char header[100];
    if (file->pMethods->xRead(file, header, 100, 0) != SQLITE_OK) doubt("cannot read the header", NULL);
    long long size = get16(header + 16) == 1 ? 65536 : get16(header + 16);
    long long usable = size - header[20];
    long long pages = pragma_int(db, "PRAGMA page_count");
    sqlite3_int64 bytes = 0;
    if (size != pragma_int(db, "PRAGMA page_size") || size < 512 || size > 65536 ||
        (size & (size - 1)) || usable < 480)
        doubt("a page size other than SQLite's", NULL);
    if (file->pMethods->xFileSize(file, &bytes) != SQLITE_OK || pages < 1 || pages > bytes / size)
        doubt("a page count beyond the file", NULL);

    Sums sums[INDEXES];
    memset(sums, 0, sizeof sums);
    Walk w = {0};
    w.file = file;
    w.size = size;
    w.usable = usable;
    w.pages = pages;
    w.local_max = (usable - 12) * 64 / 255 - 23;
    w.key = key;
    w.seen = calloc((size_t)pages / 8 + 1, 1); /* one for all three: no page is two indexes' */
    w.page = malloc((size_t)size * MAX_DEPTH);
    if (!w.seen || !w.page) unsure();
    for (int i = 0; i < INDEXES; i++) {
        const char *name = INDEX_NAME[i];
        if (sqlite3_prepare_v2(db,
                               "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND "
                               "name = ?1 AND tbl_name = 'events'",
                               -1, &st, NULL) != SQLITE_OK)
            doubt("cannot read the schema", name);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_INTEGER)
            doubt("no such index", name);
        long long root = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (root < 2 || root > pages) doubt("a root page out of the file", name);
        w.index = i;
        w.sums = &sums[i];
        w.first = 1;
        subtree(&w, (unsigned long)root, 0);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) doubt("cannot end", NULL);
    sqlite3_close(db);

    Buf out = {0};
    char num[48];
    snprintf(num, sizeof num, "i {\"max_seq\": %lld, \"sums\": ", max_seq);
    puts_(&out, num);
    put_sums(&out, sums);
    puts_(&out, "}\n");
    fwrite(out.p, 1, out.len, stdout);
    if (fflush(stdout) != 0) unsure();
    return 0;
}

/* --prf: the key's line, then lines "64 HEX" or "128 HEX" (a message); prints each output's
 * bytes in hex, as the reference implementation's test vectors list them. */
static int prf_main(void) {
    char line[4096];
    if (!fgets(line, sizeof line, stdin)) unsure();
    unsigned char raw[16];
    if (!unhex(line, strcspn(line, "\n"), raw, 16)) unsure();
    uint64_t k0 = load64(raw), k1 = load64(raw + 8);
    unsigned char m[2048];
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strcspn(line, "\n");
        line[len] = 0;
        int wide = strncmp(line, "128", 3) == 0;
        const char *hex = line + (wide ? 3 : 2);
        if (*hex == ' ') hex++;
        size_t n = strlen(hex) / 2;
        if (n > sizeof m || !unhex(hex, strlen(hex), m, n)) unsure();
        uint64_t out[2];
        siphash(m, n, k0, k1, wide, out);
        for (int w = 0; w <= wide; w++)
            for (int j = 0; j < 8; j++) printf("%02x", (unsigned)(out[w] >> (8 * j)) & 0xff);
        printf("\n");
    }
    return fflush(stdout) == 0 ? 0 : UNSURE;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--indexes") == 0) return index_main(argc, argv);
    if (argc == 2 && strcmp(argv[1], "--prf") == 0) return prf_main();
    return chain_main(argc, argv);
}
