/* cpu_jit.c — modules compiled to objects on several threads, and the ORC
 * LLJIT that links them, with the process's symbols visible (LLJIT does
 * not add them by itself). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Error.h>

#include "cpu_codegen.h"
#include "cpu_jit.h"

/* Threads beyond this many would only wait for the same few units. */
#define MAX_COMPILE_THREADS 64

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

typedef struct unit_queue {
    cpu_unit *u;
    int n;
    atomic_int next;        /* the next unit nobody has taken            */
    const cpu_target *t;
    pthread_mutex_t lock;   /* guards failed and err                     */
    int failed;             /* lowest failing unit, n if none            */
    char err[400];
} unit_queue;

static void unit_failed(unit_queue *q, int i, const char *msg)
{
    pthread_mutex_lock(&q->lock);
    if (i < q->failed) { /* the lowest index wins: the same message every time */
        q->failed = i;
        snprintf(q->err, sizeof q->err, "%s", msg);
    }
    pthread_mutex_unlock(&q->lock);
}

/* Optimise unit i and emit its object with t; dispose of its module. */
static void compile_unit(unit_queue *q, int i, cpu_target *t)
{
    cpu_unit *u = &q->u[i];
    char err[400] = "";
    double t0 = now_ms();
    bool ok = cpu_optimize_with(u->mod, t, u->pipeline, err, sizeof err) == KILN_OK;
    double t1 = now_ms();
    char *msg = NULL;
    if (ok && LLVMTargetMachineEmitToMemoryBuffer(t->machine, u->mod, LLVMObjectFile,
                                                  &msg, &u->obj)) {
        snprintf(err, sizeof err, "machine code: %s", msg ? msg : "?");
        u->obj = NULL;
        ok = false;
    }
    LLVMDisposeMessage(msg);
    u->optimize_ms = t1 - t0;
    u->codegen_ms = now_ms() - t1;
    LLVMDisposeModule(u->mod);
    LLVMContextDispose(u->ctx);
    u->mod = NULL;
    u->ctx = NULL;
    if (!ok)
        unit_failed(q, i, err);
}

/* Take units until none is left, with a target machine of one's own. */
static int drain(unit_queue *q, char *err, size_t errlen)
{
    cpu_target t;
    if (cpu_target_copy(&t, q->t, LLVMCodeGenLevelDefault, err, errlen))
        return -1;
    for (int i; (i = atomic_fetch_add(&q->next, 1)) < q->n;)
        compile_unit(q, i, &t);
    cpu_target_free(&t);
    return 0;
}

static void *worker(void *arg)
{
    char err[400];
    drain(arg, err, sizeof err); /* without a machine, leave it to the others */
    return NULL;
}

int cpu_units_compile(cpu_unit *u, int n, const cpu_target *t, int threads,
                      char *err, size_t errlen)
{
    unit_queue q = {.u = u, .n = n, .t = t, .failed = n};
    atomic_init(&q.next, 0);
    pthread_mutex_init(&q.lock, NULL);
    pthread_t tid[MAX_COMPILE_THREADS];
    int helpers = 0, want = threads < n ? threads : n;
    want = want < MAX_COMPILE_THREADS ? want : MAX_COMPILE_THREADS;
    while (helpers + 1 < want && pthread_create(&tid[helpers], NULL, worker, &q) == 0)
        helpers++;
    int rc = drain(&q, err, errlen);
    for (int i = 0; i < helpers; i++)
        pthread_join(tid[i], NULL);
    if (rc == 0 && q.failed < n) {
        snprintf(err, errlen, "%s", q.err);
        rc = -1;
    }
    pthread_mutex_destroy(&q.lock);
    return rc;
}

void cpu_units_free(cpu_unit *u, int n)
{
    for (int i = 0; i < n; i++) {
        if (u[i].mod)
            LLVMDisposeModule(u[i].mod);
        if (u[i].ctx)
            LLVMContextDispose(u[i].ctx);
        if (u[i].obj)
            LLVMDisposeMemoryBuffer(u[i].obj);
        u[i].mod = NULL;
        u[i].ctx = NULL;
        u[i].obj = NULL;
    }
}

/* ---- the JIT ------------------------------------------------------------ */

static int fail(LLVMErrorRef e, const char *what, char *err, size_t errlen)
{
    char *msg = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "JIT: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return -1;
}

/* An LLJIT for the host whose main dylib sees the process's symbols. */
static int jit_create(cpu_jit *j, char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    LLVMOrcJITTargetMachineBuilderRef host;
    LLVMErrorRef e = LLVMOrcJITTargetMachineBuilderDetectHost(&host);
    if (e)
        return fail(e, "no host target", err, errlen);
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, host);
    e = LLVMOrcCreateLLJIT(&j->jit, builder);
    if (e)
        return fail(e, "cannot create LLJIT", err, errlen);
    LLVMOrcDefinitionGeneratorRef process;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &process, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (e) {
        cpu_jit_free(j);
        return fail(e, "no process symbols", err, errlen);
    }
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), process);
    return 0;
}

int cpu_jit_new_objects(cpu_jit *j, cpu_unit *u, int n, char *err,
                        size_t errlen)
{
    if (jit_create(j, err, errlen))
        return -1;
    LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(j->jit);
    for (int i = 0; i < n; i++) {
        LLVMMemoryBufferRef obj = u[i].obj;
        u[i].obj = NULL; /* the JIT owns it from here, even on failure */
        LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(j->jit, main, obj);
        if (e) {
            cpu_jit_free(j);
            return fail(e, "cannot add object", err, errlen);
        }
    }
    return 0;
}

int cpu_jit_new(cpu_jit *j, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m,
                char *err, size_t errlen)
{
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
    if (jit_create(j, err, errlen)) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return -1;
    }
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        cpu_jit_free(j);
        return fail(e, "cannot add module", err, errlen);
    }
    return 0;
}

void *cpu_jit_lookup(cpu_jit *j, const char *name, char *err, size_t errlen)
{
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &addr, name);
    if (e) {
        fail(e, name, err, errlen);
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}

void cpu_jit_free(cpu_jit *j)
{
    if (j->jit)
        LLVMOrcDisposeLLJIT(j->jit);
    j->jit = NULL;
}
