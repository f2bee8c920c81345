/* Fast types: the hot paths of locks and locked shared values as methods of C types.
 *
 * Why not a cffi call: `with lock:` in Python calls __enter__ and __exit__, and when those
 * are Python functions that each make a cffi call, the frames and argument conversions
 * cost more than the futex word they flip.  The standard library's SemLock is a C type,
 * so its `with lock:` costs two C method calls; these types give ours the same shape:
 *
 *   FastSemLock   base of processing_core's SemLock: __enter__, __exit__ and release in C.
 *   LockedBase    base of processing_sync's Synchronized wrappers: the wrapped ctypes object,
 *                 its lock and the lock's native handle; __enter__ and __exit__ in C.
 *   LockedValue   LockedBase with `value` read and written under the lock in C.
 *   LockedArray   LockedBase with len(), indexing and slicing under the lock in C.
 *
 * Only the uncontended path is here.  When the lock is busy (or a release fails) the
 * method calls back into Python (`_acquire_slow`, `_release_failed` of the lock), which
 * waits with the GIL released, runs signal handlers and raises the documented errors.
 * A wrapper whose lock is not one of ours (a threading lock, say) calls that lock's
 * own __enter__ and __exit__.
 *
 * This code needs the interpreter's headers, which only the cffi-generated module sees:
 * it lives in a header that the builder includes there (like quick_calls.h), and
 * prc_quick_fast_types_install() (a quick call: it keeps the GIL) adds the types to
 * processing_core._native.  The module is built per interpreter (not abi3), so the
 * full C API is available (the builder defines _CFFI_NO_LIMITED_API).
 */
#ifndef PROCESSING_FAST_TYPES_H
#define PROCESSING_FAST_TYPES_H

#include "semaphore.h"

int prc_quick_fast_types_install(void);

#ifdef Py_PYTHON_H

/* ---------------------------------------------------------------- shared helpers */

static PyObject *prc_str_acquire_slow;   /* "_acquire_slow" */
static PyObject *prc_str_release_failed; /* "_release_failed" */
static PyObject *prc_str_enter;          /* "__enter__" */
static PyObject *prc_str_exit;           /* "__exit__" */
static PyObject *prc_str_value;          /* "value" */

static int prc_unbound(void)
{
    PyErr_SetString(PyExc_ValueError, "the lock is not initialised");
    return -1;
}

/* Take the native lock h (owned by the Python lock object `lock`): 0, or -1 with an
 * exception set.  The slow path is the lock's own Python method, which may wait. */
static inline int prc_fast_take(prc_semlock *h, PyObject *lock)
{
    int rc = prc_quick_sem_try_enter(h);
    if (rc == PRC_SEM_OK)
        return 0;
    PyObject *args[3] = {lock, PyLong_FromLong(rc), PyLong_FromLong(-1)};
    if (args[1] == NULL || args[2] == NULL) {
        Py_XDECREF(args[1]);
        Py_XDECREF(args[2]);
        return -1;
    }
    PyObject *result = PyObject_VectorcallMethod(prc_str_acquire_slow, args, 3, NULL);
    Py_DECREF(args[1]);
    Py_DECREF(args[2]);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return 0;
}

/* Release the native lock h: 0, or -1 with the lock's error raised. */
static inline int prc_fast_give(prc_semlock *h, PyObject *lock)
{
    if (prc_quick_sem_release(h) == PRC_SEM_OK)
        return 0;
    PyObject *result = PyObject_CallMethodNoArgs(lock, prc_str_release_failed);
    if (result == NULL)
        return -1;
    /* _release_failed always raises; a subclass that does not leaves nothing released. */
    Py_DECREF(result);
    PyErr_SetString(PyExc_RuntimeError, "releasing the lock failed");
    return -1;
}

/* ---------------------------------------------------------------- FastSemLock */

typedef struct {
    PyObject_HEAD
    prc_semlock *h; /* owned by the Python subclass (its cffi struct); NULL until bound */
} prc_FastSemLock;

static PyObject *prc_fsl_bind(PyObject *self, PyObject *address)
{
    void *h = PyLong_AsVoidPtr(address);
    if (h == NULL && PyErr_Occurred())
        return NULL;
    ((prc_FastSemLock *)self)->h = (prc_semlock *)h;
    Py_RETURN_NONE;
}

static PyObject *prc_fsl_enter(PyObject *self, PyObject *unused)
{
    prc_semlock *h = ((prc_FastSemLock *)self)->h;
    if (h == NULL)
        return prc_unbound(), NULL;
    if (prc_fast_take(h, self) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

static PyObject *prc_fsl_release(PyObject *self, PyObject *unused)
{
    prc_semlock *h = ((prc_FastSemLock *)self)->h;
    if (h == NULL)
        return prc_unbound(), NULL;
    if (prc_fast_give(h, self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *prc_fsl_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return prc_fsl_release(self, NULL);
}

static void prc_fsl_dealloc(PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op);
    type->tp_free(op);
    Py_DECREF(type); /* an instance of a heap type holds a reference to it */
}

static PyMethodDef prc_fsl_methods[] = {
    {"_bind", prc_fsl_bind, METH_O, "Bind to the native handle at this address (kept alive by the caller)."},
    {"__enter__", prc_fsl_enter, METH_NOARGS, "Acquire the lock, waiting as long as it takes; return True."},
    {"__exit__", (PyCFunction)(void (*)(void))prc_fsl_exit, METH_FASTCALL, "Release the lock."},
    {"release", prc_fsl_release, METH_NOARGS,
     "Give back one unit.\n\nRaises:\n    ValueError: a semaphore released more times than its ``maxvalue`` allows.\n"
     "    AssertionError: a recursive mutex released by a thread that does not own it."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot prc_fsl_slots[] = {
    {Py_tp_doc, "Native base of SemLock: the uncontended acquire and release as C methods."},
    {Py_tp_methods, prc_fsl_methods},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, prc_fsl_dealloc},
    {0, NULL},
};

static PyType_Spec prc_fsl_spec = {
    .name = "processing_core._native.FastSemLock",
    .basicsize = sizeof(prc_FastSemLock),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = prc_fsl_slots,
};

/* ---------------------------------------------------------------- LockedBase */

typedef struct {
    PyObject_HEAD
    PyObject *obj;  /* the ctypes object */
    PyObject *lock; /* its lock */
    prc_semlock *h; /* the lock's native handle, or NULL for a foreign lock */
} prc_Locked;

static inline int prc_locked_take(prc_Locked *self)
{
    if (self->lock == NULL) {
        PyErr_SetString(PyExc_ValueError, "the synchronized wrapper is not initialised");
        return -1;
    }
    if (self->h != NULL)
        return prc_fast_take(self->h, self->lock);
    PyObject *result = PyObject_CallMethodNoArgs(self->lock, prc_str_enter);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return 0;
}

static inline int prc_locked_give(prc_Locked *self)
{
    if (self->h != NULL)
        return prc_fast_give(self->h, self->lock);
    PyObject *result = PyObject_CallMethodObjArgs(self->lock, prc_str_exit, Py_None, Py_None, Py_None, NULL);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return 0;
}

/* Release after an access that succeeded (failed == 0) or raised: -1 if either failed.
 * The access's exception is kept unless the release itself raises. */
static int prc_locked_end(prc_Locked *self, int failed)
{
    if (!failed)
        return prc_locked_give(self);
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (prc_locked_give(self) < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    } else {
        PyErr_Restore(type, value, tb);
    }
    return -1;
}

static PyObject *prc_locked_finish(prc_Locked *self, PyObject *result)
{
    if (prc_locked_end(self, result == NULL) < 0) {
        Py_XDECREF(result);
        return NULL;
    }
    return result;
}

static PyTypeObject *prc_fsl_type; /* FastSemLock, once installed */

static PyObject *prc_locked_bind(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    prc_Locked *self = (prc_Locked *)op;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_bind(obj, lock) takes 2 arguments");
        return NULL;
    }
    PyObject *lock = args[1];
    Py_XSETREF(self->obj, Py_NewRef(args[0]));
    Py_XSETREF(self->lock, Py_NewRef(lock));
    /* A lock of ours is taken through its handle, with no Python call; any other
     * lock through its own __enter__ and __exit__. */
    self->h = PyObject_TypeCheck(lock, prc_fsl_type) ? ((prc_FastSemLock *)lock)->h : NULL;
    Py_RETURN_NONE;
}

static PyObject *prc_locked_enter(PyObject *op, PyObject *unused)
{
    if (prc_locked_take((prc_Locked *)op) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

static PyObject *prc_locked_exit(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    if (prc_locked_give((prc_Locked *)op) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *prc_locked_get_obj(PyObject *op, void *closure)
{
    PyObject *obj = ((prc_Locked *)op)->obj;
    return Py_NewRef(obj != NULL ? obj : Py_None);
}

static PyObject *prc_locked_get_lock(PyObject *op, void *closure)
{
    PyObject *lock = ((prc_Locked *)op)->lock;
    return Py_NewRef(lock != NULL ? lock : Py_None);
}

static int prc_locked_traverse(PyObject *op, visitproc visit, void *arg)
{
    prc_Locked *self = (prc_Locked *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->obj);
    Py_VISIT(self->lock);
    return 0;
}

static int prc_locked_clear(PyObject *op)
{
    prc_Locked *self = (prc_Locked *)op;
    self->h = NULL; /* the handle belongs to the lock being dropped */
    Py_CLEAR(self->obj);
    Py_CLEAR(self->lock);
    return 0;
}

static void prc_locked_dealloc(PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    prc_locked_clear(op);
    type->tp_free(op);
    Py_DECREF(type);
}

static PyMethodDef prc_locked_methods[] = {
    {"_bind", (PyCFunction)(void (*)(void))prc_locked_bind, METH_FASTCALL,
     "Wrap obj with lock (a SemLock of ours is taken through its native handle)."},
    {"__enter__", prc_locked_enter, METH_NOARGS, "Acquire the lock; return True."},
    {"__exit__", (PyCFunction)(void (*)(void))prc_locked_exit, METH_FASTCALL, "Release the lock."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef prc_locked_getset[] = {
    {"_obj", prc_locked_get_obj, NULL, "The wrapped ctypes object.", NULL},
    {"_lock", prc_locked_get_lock, NULL, "The lock that guards it.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot prc_locked_slots[] = {
    {Py_tp_doc, "Native base of the synchronized wrappers: a ctypes object and its lock."},
    {Py_tp_methods, prc_locked_methods},
    {Py_tp_getset, prc_locked_getset},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_traverse, prc_locked_traverse},
    {Py_tp_clear, prc_locked_clear},
    {Py_tp_dealloc, prc_locked_dealloc},
    {0, NULL},
};

static PyType_Spec prc_locked_spec = {
    .name = "processing_core._native.LockedBase",
    .basicsize = sizeof(prc_Locked),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = prc_locked_slots,
};

/* ---------------------------------------------------------------- LockedValue */

static PyObject *prc_value_get(PyObject *op, void *closure)
{
    prc_Locked *self = (prc_Locked *)op;
    if (prc_locked_take(self) < 0)
        return NULL;
    return prc_locked_finish(self, PyObject_GetAttr(self->obj, prc_str_value));
}

static int prc_value_set(PyObject *op, PyObject *value, void *closure)
{
    prc_Locked *self = (prc_Locked *)op;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "the value of a synchronized wrapper cannot be deleted");
        return -1;
    }
    if (prc_locked_take(self) < 0)
        return -1;
    return prc_locked_end(self, PyObject_SetAttr(self->obj, prc_str_value, value) < 0);
}

static PyGetSetDef prc_value_getset[] = {
    {"value", prc_value_get, prc_value_set, "The value, read and written under the lock.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot prc_value_slots[] = {
    {Py_tp_doc, "A locked shared simple value: `value` is read and written under the lock."},
    {Py_tp_getset, prc_value_getset},
    {0, NULL},
};

static PyType_Spec prc_value_spec = {
    .name = "processing_core._native.LockedValue",
    .basicsize = sizeof(prc_Locked),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC, traverse, clear, dealloc: inherited from LockedBase */
    .slots = prc_value_slots,
};

/* ---------------------------------------------------------------- LockedArray */

static Py_ssize_t prc_array_len(PyObject *op)
{
    prc_Locked *self = (prc_Locked *)op;
    if (self->obj == NULL) {
        PyErr_SetString(PyExc_ValueError, "the synchronized wrapper is not initialised");
        return -1;
    }
    return PyObject_Size(self->obj); /* a ctypes array's length is fixed: no lock needed */
}

static PyObject *prc_array_subscript(PyObject *op, PyObject *key)
{
    prc_Locked *self = (prc_Locked *)op;
    if (prc_locked_take(self) < 0)
        return NULL;
    return prc_locked_finish(self, PyObject_GetItem(self->obj, key));
}

static int prc_array_ass_subscript(PyObject *op, PyObject *key, PyObject *value)
{
    prc_Locked *self = (prc_Locked *)op;
    if (prc_locked_take(self) < 0)
        return -1;
    int status = value != NULL ? PyObject_SetItem(self->obj, key, value) : PyObject_DelItem(self->obj, key);
    return prc_locked_end(self, status < 0);
}

/* Iteration and `in` go through the sequence protocol (indices already made non-negative). */
static PyObject *prc_array_item(PyObject *op, Py_ssize_t index)
{
    prc_Locked *self = (prc_Locked *)op;
    if (prc_locked_take(self) < 0)
        return NULL;
    return prc_locked_finish(self, PySequence_GetItem(self->obj, index));
}

static int prc_array_ass_item(PyObject *op, Py_ssize_t index, PyObject *value)
{
    prc_Locked *self = (prc_Locked *)op;
    if (prc_locked_take(self) < 0)
        return -1;
    int status = value != NULL ? PySequence_SetItem(self->obj, index, value) : PySequence_DelItem(self->obj, index);
    return prc_locked_end(self, status < 0);
}

static PyType_Slot prc_array_slots[] = {
    {Py_tp_doc, "A locked shared array: indexing and slicing take the lock."},
    {Py_mp_length, prc_array_len},
    {Py_mp_subscript, prc_array_subscript},
    {Py_mp_ass_subscript, prc_array_ass_subscript},
    {Py_sq_length, prc_array_len},
    {Py_sq_item, prc_array_item},
    {Py_sq_ass_item, prc_array_ass_item},
    {0, NULL},
};

static PyType_Spec prc_array_spec = {
    .name = "processing_core._native.LockedArray",
    .basicsize = sizeof(prc_Locked),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC, traverse, clear, dealloc: inherited from LockedBase */
    .slots = prc_array_slots,
};

/* ---------------------------------------------------------------- installing */

static int prc_add_type(PyObject *module, const char *name, PyType_Spec *spec, PyObject *base)
{
    PyObject *type = base != NULL ? PyType_FromSpecWithBases(spec, base) : PyType_FromSpec(spec);
    if (type == NULL)
        return -1;
    int rc = PyObject_SetAttrString(module, name, type);
    if (rc == 0 && spec == &prc_fsl_spec)
        prc_fsl_type = (PyTypeObject *)Py_NewRef(type); /* kept for LockedBase._bind, for ever */
    Py_DECREF(type);
    return rc;
}

static int prc_intern(PyObject **slot, const char *text)
{
    if (*slot == NULL)
        *slot = PyUnicode_InternFromString(text);
    return *slot != NULL ? 0 : -1;
}

/* Adds the types to processing_core._native; 0 on success, -1 on failure (no exception
 * is left set: the caller raises its own). */
int prc_quick_fast_types_install(void)
{
    PyObject *module = PyImport_AddModule("processing_core._native"); /* borrowed */
    int ok = module != NULL && prc_intern(&prc_str_acquire_slow, "_acquire_slow") == 0 &&
             prc_intern(&prc_str_release_failed, "_release_failed") == 0 &&
             prc_intern(&prc_str_enter, "__enter__") == 0 && prc_intern(&prc_str_exit, "__exit__") == 0 &&
             prc_intern(&prc_str_value, "value") == 0 &&
             prc_add_type(module, "FastSemLock", &prc_fsl_spec, NULL) == 0 &&
             prc_add_type(module, "LockedBase", &prc_locked_spec, NULL) == 0;
    if (ok) {
        PyObject *base = PyObject_GetAttrString(module, "LockedBase");
        ok = base != NULL && prc_add_type(module, "LockedValue", &prc_value_spec, base) == 0 &&
             prc_add_type(module, "LockedArray", &prc_array_spec, base) == 0;
        Py_XDECREF(base);
    }
    if (!ok) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

#endif /* Py_PYTHON_H */

#endif
