/* The transport over MPI: joining the ranks and the collectives dist.c
 * builds on. The only file that includes mpi.h.
 *
 * Large sums take one of two paths, chosen once per run (RW_DIST_ALLREDUCE):
 * where every rank is on one machine, shared memory (each rank reads the
 * others' values where they lie, no copy through Open MPI's buffers or the
 * kernel); otherwise the ring of send-receives. Both add in the same order,
 * so they give the same bits. */
#include "dist/dist.h"

#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int g_rank = 0, g_size = 1, g_joined = 0;
/* Whether rw_dist_init started MPI (and rw_dist_finalize ends it), or found
 * it started by another library of the process, such as mpi4py. */
static int g_owned = 0;

/* How large buffers are summed: decided by the first collective that needs
 * it (every rank reaches it with the same n), kept for the run. */
enum { SUM_UNSET = -1, SUM_RING, SUM_MPI, SUM_SHM };
static int g_mode = SUM_UNSET;
static int g_wanted = SUM_UNSET; /* rw_dist_use_transport, else the env */
static unsigned g_took;          /* a bit per path the sums have taken */
/* The board of calls: how many collectives this rank has entered, in a
 * window that every rank can read (rw_dist_leave), on a communicator of
 * its own so that the leaving ranks' barrier never meets a collective of
 * training. MPI_WIN_NULL where MPI's memory model makes a plain store
 * unreadable to the others (the separate model); rw_dist_leave then
 * waits as MPI_Finalize would. */
static MPI_Comm g_leave_comm = MPI_COMM_NULL;
static MPI_Win g_board = MPI_WIN_NULL;
static uint64_t *g_calls;

/* Every collective below counts itself here before it starts, so that a
 * rank that left can tell that another waits in a call it never makes. */
static void entered(void)
{
    if (g_calls)
        __atomic_store_n(g_calls, *g_calls + 1, __ATOMIC_RELEASE);
}

static void board_open(void)
{
    if (g_size <= 1 || MPI_Comm_dup(MPI_COMM_WORLD, &g_leave_comm) != MPI_SUCCESS) {
        g_leave_comm = MPI_COMM_NULL;
        return;
    }
    uint64_t *base = NULL;
    if (MPI_Win_allocate((MPI_Aint)sizeof *base, (int)sizeof *base, MPI_INFO_NULL,
                         g_leave_comm, &base, &g_board) != MPI_SUCCESS) {
        g_board = MPI_WIN_NULL;
        return;
    }
    int *model = NULL, found = 0;
    MPI_Win_get_attr(g_board, MPI_WIN_MODEL, &model, &found);
    *base = 0;
    /* Every rank's counter is 0 before any rank reads one. */
    MPI_Barrier(g_leave_comm);
    if (found && model && *model == MPI_WIN_UNIFIED)
        g_calls = base;
}

static void board_close(int ended)
{
    if (!ended && g_board != MPI_WIN_NULL)
        MPI_Win_free(&g_board);
    if (!ended && g_leave_comm != MPI_COMM_NULL)
        MPI_Comm_free(&g_leave_comm);
    g_board = MPI_WIN_NULL;
    g_leave_comm = MPI_COMM_NULL;
    g_calls = NULL;
}

/* Shared memory: every rank's segment of g_cap floats, mapped here (this
 * rank's to write, the others' to read). */
static float **g_seg;
static size_t g_cap;

/* Started by mpirun (Open MPI, or a PMI launcher such as MPICH's Hydra or
 * Slurm)? Without one of these the process stays a single rank and never
 * calls MPI, so the tool starts as fast as a build without MPI. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                       "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

rw_status rw_dist_init(int *argc, char ***argv, rw_error *err)
{
    if (g_joined)
        return RW_OK;
    int started = 0, ended = 0;
    MPI_Finalized(&ended);
    if (ended)
        return rw_fail(err, RW_ERR_DIST,
                       "MPI has already been finalized in this process "
                       "(rw_dist_finalize, or another library); it cannot "
                       "start again");
    MPI_Initialized(&started);
    if (!started) {
        if (!launched_by_mpi())
            return RW_OK;
        int provided = 0;
        /* Only the thread that trains calls MPI; OpenMP threads never do. */
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) !=
            MPI_SUCCESS)
            return rw_fail(err, RW_ERR_DIST, "MPI failed to start");
        g_owned = 1;
    }
    g_joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    board_open();
    return RW_OK;
}

static void shm_release(void)
{
    for (int q = 0; g_seg && q < g_size; q++)
        if (g_seg[q])
            munmap(g_seg[q], g_cap * sizeof(float));
    rw_free(g_seg);
    g_seg = NULL;
    g_cap = 0;
}

/* The region every rank writes (rw_dist_shared_region, below). */
static void *g_region;
static size_t g_region_bytes;

static void region_release(void)
{
    if (g_region)
        munmap(g_region, g_region_bytes);
    g_region = NULL;
    g_region_bytes = 0;
}

/* Whether MPI can still be called: joined, and not finalized since (by
 * another library of the process, such as mpi4py's MPI.Finalize). */
static int usable(void)
{
    int ended = 0;
    if (!g_joined)
        return 0;
    MPI_Finalized(&ended);
    return !ended;
}

rw_status rw_dist_check_transport(rw_error *err)
{
    if (g_joined && !usable())
        return rw_fail(err, RW_ERR_DIST,
                       "MPI was finalized after rw_dist_init (by another "
                       "library of this process, such as mpi4py's "
                       "MPI.Finalize): the %d ranks can no longer train "
                       "together", g_size);
    return RW_OK;
}

void rw_dist_finalize(void)
{
    rw_dist_release_buffers();
    if (g_joined) {
        int ended = !usable();
        shm_release();
        region_release();
        board_close(ended);
        g_mode = g_wanted = SUM_UNSET;
        if (g_owned && !ended)
            MPI_Finalize();
        g_joined = g_owned = 0;
        g_rank = 0;
        g_size = 1;
    }
}

/* The others' counts, read through the board: 1 and *who, *theirs for
 * the first rank that has entered more collectives than `mine`. */
static int board_ahead(uint64_t mine, int *who, uint64_t *theirs)
{
    for (int q = 0; q < g_size; q++) {
        uint64_t c = 0;
        if (q == g_rank || MPI_Get(&c, 1, MPI_UINT64_T, q, 0, 1, MPI_UINT64_T,
                                   g_board) != MPI_SUCCESS ||
            MPI_Win_flush(q, g_board) != MPI_SUCCESS)
            continue;
        if (c > mine) {
            *who = q;
            *theirs = c;
            return 1;
        }
    }
    return 0;
}

rw_status rw_dist_leave(rw_error *err)
{
    if (g_size <= 1 || !usable() || g_leave_comm == MPI_COMM_NULL)
        return RW_OK;
    /* A barrier that an earlier call left unfinished is still this rank's
     * arrival: the next call waits on it rather than post another. */
    static MPI_Request req = MPI_REQUEST_NULL;
    if (req == MPI_REQUEST_NULL && MPI_Ibarrier(g_leave_comm, &req) != MPI_SUCCESS)
        return RW_OK; /* MPI_Finalize waits as it would have */
    int open = g_calls && MPI_Win_lock_all(MPI_MODE_NOCHECK, g_board) == MPI_SUCCESS;
    uint64_t mine = g_calls ? *g_calls : 0, theirs = 0;
    int done = 0, who = -1;
    long nap = 50000; /* ns, doubling to 20 ms */
    while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
        if (open && board_ahead(mine, &who, &theirs))
            break;
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        nap = nap < 20000000 ? nap * 2 : nap;
    }
    if (open)
        MPI_Win_unlock_all(g_board);
    if (who < 0)
        return RW_OK;
    return rw_fail(err, RW_ERR_DIST,
                   "rank %d is leaving while rank %d waits in a collective call "
                   "that rank %d never makes (call %llu; rank %d made %llu): "
                   "the ranks ran different code (an early exit or return on "
                   "some ranks only)", g_rank, who, g_rank,
                   (unsigned long long)theirs, g_rank, (unsigned long long)mine);
}

int rw_dist_rank(void) { return g_rank; }
int rw_dist_size(void) { return g_size; }
int rw_dist_available(void) { return 1; }

void rw_dist_abort(int code)
{
    if (g_size > 1 && usable())
        MPI_Abort(MPI_COMM_WORLD, code);
}

int rw_dist_min_int(int value)
{
    if (g_size <= 1 || !usable())
        return value;
    entered();
    int least = 0;
    if (MPI_Allreduce(&value, &least, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        return value < 0 ? value : 0; /* fails as a failure would */
    return least;
}

static rw_status mpi_fail(rw_error *err, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "error %d", rc);
    return rw_fail(err, RW_ERR_DIST, "rank %d: %s failed: %s", g_rank, what, msg);
}

/* count floats to rank `to` and rcount from rank `from`, in pieces that
 * fit an int. */
static rw_status sendrecv_f32(const float *s, size_t count, int to, float *r,
                              size_t rcount, int from, int tag, rw_error *err)
{
    const size_t piece = (size_t)1 << 30;
    size_t most = count > rcount ? count : rcount;
    for (size_t o = 0; o < most || o == 0; o += piece) {
        int sc = (int)(o < count ? (count - o < piece ? count - o : piece) : 0);
        int rc = (int)(o < rcount ? (rcount - o < piece ? rcount - o : piece) : 0);
        int rcode = MPI_Sendrecv(s + o, sc, MPI_FLOAT, to, tag, r + o, rc,
                                 MPI_FLOAT, from, tag, MPI_COMM_WORLD,
                                 MPI_STATUS_IGNORE);
        if (rcode != MPI_SUCCESS)
            return mpi_fail(err, rcode, "send-receive");
        if (most == 0)
            break;
    }
    return RW_OK;
}

/* ---- choosing the path ---- */

static int parse_transport(const char *e)
{
    if (!e || !*e || !strcmp(e, "shm")) /* empty: unset */
        return SUM_SHM;
    if (!strcmp(e, "ring"))
        return SUM_RING;
    if (!strcmp(e, "mpi"))
        return SUM_MPI;
    return SUM_UNSET;
}

static int wanted(void)
{
    int want = g_wanted != SUM_UNSET ? g_wanted
                                     : parse_transport(getenv("RW_DIST_ALLREDUCE"));
    return want == SUM_UNSET ? SUM_RING : want; /* rw_train refuses it first */
}

int rw_dist_wanted_path(void) { return wanted(); }

/* The path for this run, decided on first use (a collective: every rank
 * calls it at the same point, whatever it wants). Shared memory where every
 * rank is on this machine and RW_DIST_ALLREDUCE does not say otherwise.
 * One small all-reduce gathers every rank's wish and whether it shares
 * the machine with all the others: ranks that wish differently all take
 * the ring, rather than wait in different collectives. */
static int sum_mode(void)
{
    if (g_mode != SUM_UNSET)
        return g_mode;
    entered(); /* before MPI_Comm_split_type, a collective too */
    int want = wanted(), here = 0;
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                            &node) == MPI_SUCCESS) {
        int ranks = 0;
        here = MPI_Comm_size(node, &ranks) == MPI_SUCCESS && ranks == g_size;
        MPI_Comm_free(&node);
    }
    int v[3] = {want, -want, here}, all[3] = {0, 0, 0};
    if (MPI_Allreduce(v, all, 3, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
        all[0] = SUM_RING, all[1] = -SUM_RING, all[2] = 0;
    if (all[0] != -all[1])
        g_mode = SUM_RING;
    else if (want == SUM_SHM)
        g_mode = all[2] ? SUM_SHM : SUM_RING;
    else
        g_mode = want;
    return g_mode;
}

rw_status rw_dist_use_transport(const char *name, rw_error *err)
{
    int m = parse_transport(name);
    if (!name || m == SUM_UNSET)
        return rw_fail(err, RW_ERR_ARG, "transport %s: expected shm, ring or mpi",
                       name ? name : "(null)");
    g_wanted = m;
    g_mode = SUM_UNSET;
    g_took = 0;
    return RW_OK;
}

void rw_dist_reset_paths(void) { g_took = 0; }

const char *rw_dist_transport(void)
{
    if (g_size <= 1)
        return "none";
    unsigned took = g_took;
    if (!took) /* nothing summed yet: what the first sum will take */
        took = 1u << (g_mode != SUM_UNSET ? g_mode : wanted());
    return took & (1u << SUM_SHM) ? "shm" : took & (1u << SUM_RING) ? "ring" : "mpi";
}

/* ---- shared memory ----
 * Each rank's segment is a POSIX shared-memory object of its own, which
 * every rank maps (the others read-only). Not MPI-3 shared windows: when
 * Open MPI 4.1 cannot back a window (no room in /dev/shm), the rank that
 * finds out returns while the others wait inside MPI_Win_allocate_shared,
 * and the job hangs. Here every step that can fail is a rank's own, and
 * the ranks agree on the outcome before anyone relies on it;
 * posix_fallocate reserves the pages, so a full /dev/shm is an error now
 * rather than a SIGBUS later. The objects are unlinked once every rank has
 * mapped them, so a job killed later leaves nothing behind. */

static void shm_name(char *buf, size_t cap, const uint64_t token[2], int rank)
{
    snprintf(buf, cap, "/rewire.%016llx.%llu.%d", (unsigned long long)token[0],
             (unsigned long long)token[1], rank);
}

/* A name no other job uses, the same on every rank (a collective): rank
 * 0's process and clock, and a count of the objects this process made. */
static rw_status shm_token(uint64_t token[2], rw_error *err)
{
    static uint64_t generation;
    token[0] = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
    token[1] = ++generation;
    entered();
    if (MPI_Bcast(token, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        return rw_fail(err, RW_ERR_DIST, "rank %d: broadcast failed", g_rank);
    return RW_OK;
}

/* A new object `name` of `bytes` reserved bytes, mapped for writing, or
 * MAP_FAILED; *made says whether the name was created (to unlink). */
static void *shm_create(const char *name, size_t bytes, int *made)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    *made = fd >= 0;
    if (fd < 0)
        return MAP_FAILED;
    void *p = posix_fallocate(fd, 0, (off_t)bytes) == 0
                  ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    close(fd);
    return p;
}

/* Another rank's object `name`, mapped for reading (and writing), or
 * MAP_FAILED. */
static void *shm_attach(const char *name, size_t bytes, int writable)
{
    int fd = shm_open(name, writable ? O_RDWR : O_RDONLY, 0);
    if (fd < 0)
        return MAP_FAILED;
    void *p = mmap(NULL, bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                   MAP_SHARED, fd, 0);
    close(fd);
    return p;
}

/* Segments of at least n floats on every rank (a collective; every rank
 * asks for the same n). On failure anywhere the run goes over to the ring
 * for good: *ok is then 0 on every rank. */
static rw_status shm_reserve(size_t n, int *ok, rw_error *err)
{
    *ok = 1;
    if (g_seg && n <= g_cap)
        return RW_OK;
    shm_release();
    size_t cap = n + n / 4 + 1024; /* room for the topology to grow */
    if (cap > SIZE_MAX / sizeof(float) || cap * sizeof(float) > (size_t)INT64_MAX)
        return rw_fail(err, RW_ERR_NOMEM, "rank %d: %zu floats of shared memory "
                       "is too many", g_rank, n);
    size_t bytes = cap * sizeof(float);
    uint64_t token[2];
    rw_status st = shm_token(token, err);
    if (st != RW_OK)
        return st;
    char name[80];
    shm_name(name, sizeof name, token, g_rank);
    int mine = 0, all = 0, made = 0;
    g_seg = rw_calloc((size_t)g_size, sizeof *g_seg, "shared-memory segments", NULL);
    void *own = g_seg ? shm_create(name, bytes, &made) : MAP_FAILED;
    if (own != MAP_FAILED) {
        g_seg[g_rank] = own;
        mine = 1;
    }
    all = rw_dist_min_int(mine);
    for (int q = 0; all && mine && q < g_size; q++) {
        if (q == g_rank)
            continue;
        char other[80];
        shm_name(other, sizeof other, token, q);
        void *p = shm_attach(other, bytes, 0);
        if (p == MAP_FAILED)
            mine = 0;
        else
            g_seg[q] = p;
    }
    /* Every rank has mapped every segment, or failed to, once this
     * all-reduce is done: the names can go. */
    int both = all ? rw_dist_min_int(mine) : 0;
    if (made)
        shm_unlink(name);
    g_cap = cap;
    if (!both) {
        shm_release();
        g_mode = SUM_RING;
        *ok = 0;
    }
    return RW_OK;
}

/* ---- one region every rank writes: the sharded step's weights ----
 * A POSIX shared-memory object that rank 0 makes and every rank maps for
 * reading and writing; the same rules as the segments above (reserved
 * pages, the outcome agreed, unlinked once mapped). Kept, and reused while
 * it is large enough, until rw_dist_finalize (g_region, above). */
rw_status rw_dist_shared_region(size_t bytes, void **p, rw_error *err)
{
    *p = NULL;
    if (g_size == 1 || sum_mode() != SUM_SHM)
        return RW_OK;
    if (g_region && bytes <= g_region_bytes) {
        *p = g_region;
        return RW_OK;
    }
    region_release();
    size_t cap = bytes + bytes / 4 + 4096;
    if (bytes > SIZE_MAX / 2 || cap > (size_t)INT64_MAX)
        return rw_fail(err, RW_ERR_NOMEM, "rank %d: %zu bytes of shared memory "
                       "is too many", g_rank, bytes);
    uint64_t token[2];
    rw_status st = shm_token(token, err);
    if (st != RW_OK)
        return st;
    char name[80];
    shm_name(name, sizeof name, token, 0);
    int created = 0;
    void *m = g_rank == 0 ? shm_create(name, cap, &created) : MAP_FAILED;
    int made = rw_dist_min_int(g_rank != 0 || m != MAP_FAILED);
    if (made && g_rank != 0)
        m = shm_attach(name, cap, 1);
    /* Every rank has mapped the region, or failed to: the name can go. */
    int all = made ? rw_dist_min_int(m != MAP_FAILED) : 0;
    if (created)
        shm_unlink(name);
    if (!all) {
        if (m != MAP_FAILED)
            munmap(m, cap);
        return RW_OK;
    }
    g_region = m;
    g_region_bytes = cap;
    *p = m;
    return RW_OK;
}

/* What every rank wrote to its segment before, every rank sees after. */
static rw_status shm_fence(rw_error *err)
{
    entered();
    atomic_thread_fence(memory_order_seq_cst);
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    atomic_thread_fence(memory_order_seq_cst);
    return rc == MPI_SUCCESS ? RW_OK : mpi_fail(err, rc, "shared-memory barrier");
}

/* Buffers below this many floats (1 MB) take the ring even where shared
 * memory is on: its four barriers a step cost more than the copies it
 * saves. bench/mpi_allreduce, 2 ranks, the sharded step's collectives,
 * medians of two runs, shared memory against the ring: 65,536 floats 0.14
 * and 0.23 ms against 0.12 and 0.16; 152,212: 0.29, 0.48 against 0.23,
 * 0.32; 400,000: 0.35, 0.68 against 0.57, 0.70; 1,000,000: 1.81, 1.72
 * against 2.87, 2.61; 2,797,012: 4.84, 5.06 against 8.35, 8.12. */
#define SHM_MIN_FLOATS ((size_t)1 << 18)

rw_status rw_dist_fence(rw_error *err)
{
    return g_size == 1 ? RW_OK : shm_fence(err);
}

void rw_dist_took_shared(void) { g_took |= 1u << SUM_SHM; }

/* Ready for n floats in shared memory? */
static rw_status shm_ready(size_t n, int *ok, rw_error *err)
{
    *ok = 0;
    if (g_size == 1 || sum_mode() != SUM_SHM || n < SHM_MIN_FLOATS)
        return RW_OK;
    return shm_reserve(n, ok, err);
}

/* This rank's values of [lo, hi) plus add (what the other ranks summed),
 * into v's chunk: own + add, in both paths. */
static void add_own(float *v, size_t lo, size_t hi, const float *add,
                    rw_dist_load_fn load, void *ctx)
{
    if (load) {
        load(ctx, lo, hi, v + lo, add);
    } else {
        float *restrict d = v + lo;
        for (size_t i = 0; i < hi - lo; i++)
            d[i] += add[i];
    }
}

/* Chunk [a, b) of this rank's values into its segment: from load, or v. */
static void put_chunk(float *mine, const float *v, size_t a, size_t b,
                      rw_dist_load_fn load, void *ctx)
{
    if (load)
        load(ctx, a, b, mine + a, NULL);
    else
        memcpy(mine + a, v + a, (b - a) * sizeof *v);
}

/* The reduce-scatter: every rank writes the chunks the others sum to its
 * segment, then sums its own chunk from theirs in the ring's order (below),
 * so the two paths give the same bits: chunk c is
 * v_c + (v_{c-1} + (... + (v_{c+2} + v_{c+1}))), indices mod P. */
static rw_status shm_reduce_scatter(float *v, size_t n, rw_dist_load_fn load,
                                    void *ctx, rw_error *err)
{
    g_took |= 1u << SUM_SHM;
    float *mine = g_seg[g_rank];
    size_t lo, hi;
    rw_dist_chunk(n, g_size, g_rank, &lo, &hi);
    float *tmp = NULL;
    if (g_size > 2 && !(tmp = rw_dist_scratch(hi - lo + 1, err)))
        return RW_ERR_NOMEM;
    for (int k = 1; k < g_size; k++) {
        size_t a, b;
        rw_dist_chunk(n, g_size, (g_rank + k) % g_size, &a, &b);
        put_chunk(mine, v, a, b, load, ctx);
    }
    rw_status st = shm_fence(err);
    if (st != RW_OK)
        return st;
    const float *acc = g_seg[(g_rank + 1) % g_size] + lo;
    if (g_size > 2) {
        memcpy(tmp, acc, (hi - lo) * sizeof *tmp);
        for (int k = 2; k < g_size; k++) {
            const float *restrict s = g_seg[(g_rank + k) % g_size] + lo;
            for (size_t i = 0; i < hi - lo; i++)
                tmp[i] = s[i] + tmp[i];
        }
        acc = tmp;
    }
    add_own(v, lo, hi, acc, load, ctx);
    /* No rank writes its segment again before every rank has read it. */
    return shm_fence(err);
}

/* The all-gather: every rank's chunk to its segment, then every other
 * rank's chunk read from theirs. */
static rw_status shm_allgather(float *v, size_t n, rw_dist_load_fn load,
                               rw_dist_store_fn store, void *ctx, rw_error *err)
{
    g_took |= 1u << SUM_SHM;
    size_t lo, hi;
    rw_dist_chunk(n, g_size, g_rank, &lo, &hi);
    put_chunk(g_seg[g_rank], v, lo, hi, load, ctx);
    rw_status st = shm_fence(err);
    if (st != RW_OK)
        return st;
    for (int k = 1; k < g_size; k++) {
        int q = (g_rank + k) % g_size;
        size_t a, b;
        rw_dist_chunk(n, g_size, q, &a, &b);
        if (store)
            store(ctx, a, b, g_seg[q] + a);
        else
            memcpy(v + a, g_seg[q] + a, (b - a) * sizeof *v);
    }
    return shm_fence(err);
}

/* ---- the ring ---- */

/* The ring (Patarasuk and Yuan's bandwidth-optimal all-reduce, halved):
 * P - 1 steps in which every rank sends one chunk to the next rank and adds
 * the chunk it receives from the previous one to its own, so that rank r
 * ends with chunk r summed over all ranks. Each element is summed once, on
 * one rank, in an order fixed by the rank count: own + received. */
static rw_status ring_reduce_scatter(float *v, size_t n, rw_dist_load_fn load,
                                     void *ctx, rw_error *err)
{
    entered();
    g_took |= 1u << SUM_RING;
    size_t lo, hi, most = n / (size_t)g_size + 1;
    float *tmp = rw_dist_scratch(most, err);
    if (!tmp)
        return RW_ERR_NOMEM;
    int next = (g_rank + 1) % g_size, prev = (g_rank + g_size - 1) % g_size;
    for (int k = 1; k < g_size; k++) {
        size_t slo, shi;
        rw_dist_chunk(n, g_size, (g_rank - k + g_size) % g_size, &slo, &shi);
        rw_dist_chunk(n, g_size, (g_rank - k - 1 + 2 * g_size) % g_size, &lo, &hi);
        if (k == 1 && load) /* the first chunk sent is this rank's own values */
            load(ctx, slo, shi, v + slo, NULL);
        rw_status st = sendrecv_f32(v + slo, shi - slo, next, tmp, hi - lo, prev,
                                    1, err);
        if (st != RW_OK)
            return st;
        add_own(v, lo, hi, tmp, load, ctx);
    }
    return RW_OK;
}

/* The ring's second half: P - 1 steps in which every rank passes on the
 * chunk it received last (its own first). */
static rw_status ring_allgather(float *v, size_t n, rw_error *err)
{
    entered();
    g_took |= 1u << SUM_RING;
    int next = (g_rank + 1) % g_size, prev = (g_rank + g_size - 1) % g_size;
    for (int k = 0; k + 1 < g_size; k++) {
        size_t slo, shi, lo, hi;
        rw_dist_chunk(n, g_size, (g_rank - k + g_size) % g_size, &slo, &shi);
        rw_dist_chunk(n, g_size, (g_rank - k - 1 + g_size) % g_size, &lo, &hi);
        rw_status st = sendrecv_f32(v + slo, shi - slo, next, v + lo, hi - lo,
                                    prev, 2, err);
        if (st != RW_OK)
            return st;
    }
    return RW_OK;
}

/* ---- the collectives ---- */

rw_status rw_dist_reduce_scatter_load_f32(float *v, size_t n, rw_dist_load_fn load,
                                          void *ctx, rw_error *err)
{
    if (g_size == 1) {
        if (load)
            load(ctx, 0, n, v, NULL);
        return RW_OK;
    }
    int shm = 0;
    rw_status st = shm_ready(n, &shm, err);
    if (st != RW_OK)
        return st;
    return shm ? shm_reduce_scatter(v, n, load, ctx, err)
               : ring_reduce_scatter(v, n, load, ctx, err);
}

rw_status rw_dist_reduce_scatter_f32(float *v, size_t n, rw_error *err)
{
    return rw_dist_reduce_scatter_load_f32(v, n, NULL, NULL, err);
}

rw_status rw_dist_allgather_io_f32(float *v, size_t n, rw_dist_load_fn load,
                                   rw_dist_store_fn store, void *ctx,
                                   rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    int shm = 0;
    rw_status st = shm_ready(n, &shm, err);
    if (st != RW_OK)
        return st;
    if (shm)
        return shm_allgather(v, n, load, store, ctx, err);
    size_t lo, hi;
    rw_dist_chunk(n, g_size, g_rank, &lo, &hi);
    if (load)
        load(ctx, lo, hi, v + lo, NULL);
    if ((st = ring_allgather(v, n, err)) != RW_OK)
        return st;
    for (int k = 1; store && k < g_size; k++) {
        size_t a, b;
        rw_dist_chunk(n, g_size, (g_rank + k) % g_size, &a, &b);
        store(ctx, a, b, v + a);
    }
    return RW_OK;
}

rw_status rw_dist_allgather_f32(float *v, size_t n, rw_error *err)
{
    return rw_dist_allgather_io_f32(v, n, NULL, NULL, NULL, err);
}

/* In-place MPI_Allreduce of n values of `size` bytes, in pieces whose
 * counts fit an int. */
static rw_status allreduce(void *v, size_t n, size_t size, MPI_Datatype type,
                           MPI_Op op, rw_error *err)
{
    entered();
    char *p = v;
    for (size_t c0 = 0; c0 < n; c0 += (size_t)INT_MAX) {
        size_t m = n - c0 < (size_t)INT_MAX ? n - c0 : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p + c0 * size, (int)m, type, op,
                               MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "all-reduce");
    }
    return RW_OK;
}

/* Small buffers (latency-bound) take one MPI_Allreduce: floats add
 * commutatively, and each of Open MPI's algorithms (recursive doubling,
 * ring, reduce-scatter plus all-gather, reduce plus broadcast) either sums
 * an element on one rank and copies it or has pairs of ranks add the same
 * two operands, so every rank gets the same bits; the checksum after each
 * rewiring and epoch (dist.c) would stop a run where they did not. Large
 * ones take the reduce-scatter and all-gather above, which promise it by
 * construction. The ring measured faster here than Open MPI's choice
 * (bench/mpi_allreduce, 11 MB, 2 ranks: 3.6 ms against 6.4 ms; its own
 * reduce-scatter alone took 11.6 ms), and shared memory faster than the
 * ring (docs/distributed.md). */
#define RING_MIN_FLOATS ((size_t)1 << 16)

rw_status rw_dist_sum_f32(float *v, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    if (n >= RING_MIN_FLOATS && sum_mode() != SUM_MPI) {
        rw_status st = rw_dist_reduce_scatter_f32(v, n, err);
        return st == RW_OK ? rw_dist_allgather_f32(v, n, err) : st;
    }
    g_took |= 1u << SUM_MPI;
    return allreduce(v, n, sizeof *v, MPI_FLOAT, MPI_SUM, err);
}

rw_status rw_dist_sum_f64(double *v, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    return allreduce(v, n, sizeof *v, MPI_DOUBLE, MPI_SUM, err);
}

rw_status rw_dist_bcast(void *buf, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    entered();
    unsigned char *p = buf;
    for (size_t c0 = 0; c0 < n; c0 += (size_t)INT_MAX) {
        size_t m = n - c0 < (size_t)INT_MAX ? n - c0 : (size_t)INT_MAX;
        int rc = MPI_Bcast(p + c0, (int)m, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "broadcast");
    }
    return RW_OK;
}

rw_status rw_dist_max_u64(uint64_t *v, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    return allreduce(v, n, sizeof *v, MPI_UINT64_T, MPI_MAX, err);
}
