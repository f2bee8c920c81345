/* Quick calls: C functions named prc_quick_* run with the GIL held.
 *
 * cffi releases the GIL around every call into C.  That is right for anything that
 * can block, but for a call that only flips an atomic word (the uncontended lock
 * acquire and release) dropping and retaking the GIL costs more than the work.
 * cffi has no per-function switch, so this header, which cffi places after Python.h
 * and before the wrappers it generates, redefines the two macros those wrappers use:
 * a wrapper whose own name says it calls a prc_quick_* function keeps the GIL.  The
 * test is on the wrapper's __func__, a constant, so the compiler folds it away.
 *
 * Rule for prc_quick_* functions: never block, never wait on another process or
 * thread, never run longer than a few system calls.  Anything else must keep an
 * ordinary name so that other threads run while it waits.
 *
 * Only the cffi-generated module defines Py_PYTHON_H before including this file;
 * the plain C sources never see it.
 */
#ifndef PROCESSING_QUICK_CALLS_H
#define PROCESSING_QUICK_CALLS_H

#ifdef Py_PYTHON_H

#define PRC_QUICK_WRAPPER_PREFIX "_cffi_f_prc_quick_"
#define PRC_IN_QUICK_WRAPPER() \
    (__builtin_strncmp(__func__, PRC_QUICK_WRAPPER_PREFIX, sizeof(PRC_QUICK_WRAPPER_PREFIX) - 1) == 0)

#undef Py_BEGIN_ALLOW_THREADS
#undef Py_END_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS \
    {                          \
        PyThreadState *_save = PRC_IN_QUICK_WRAPPER() ? NULL : PyEval_SaveThread();
#define Py_END_ALLOW_THREADS       \
        if (_save != NULL)         \
            PyEval_RestoreThread(_save); \
    }

/* Whether the calling thread holds the GIL during the call: the same check through a
 * quick call and through an ordinary one, so a test can prove the switch works.
 * cffi compiles against the limited API, which leaves this function undeclared although
 * every CPython exports it (the wheel is built per interpreter, not abi3). */
PyAPI_FUNC(int) PyGILState_Check(void);
static int prc_quick_call_holds_gil(void) { return PyGILState_Check(); }
static int prc_call_holds_gil(void) { return PyGILState_Check(); }

#endif /* Py_PYTHON_H */

#endif
