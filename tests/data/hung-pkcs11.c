/* SoftHSM2, seen through a shim for tests/cli/third_round.rs (built there with the system's
 * cc; no PKCS#11 header is needed, as only the function list's layout matters):
 * - HANG_AT=login, sign or close: that call (C_Login, C_Sign, C_CloseSession) never answers,
 *   as a device waiting for a touch or a hung network HSM does;
 * - FINALIZE_LOG=FILE: each C_Finalize appends a line to FILE. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned long CK_RV;
typedef CK_RV (*CK_FN)();
/* PKCS#11 2.40: a CK_VERSION, then 68 function pointers; C_Finalize is the 2nd (index 1),
 * C_CloseSession the 14th (index 13), C_Login the 19th (index 18) and C_Sign the 44th
 * (index 43). */
struct function_list {
    unsigned char version[2];
    CK_FN functions[68];
};

static struct function_list shim;

static CK_RV hang(void) {
    for (;;) pause();
}

static CK_RV (*real_finalize)(void *);

static CK_RV logged_finalize(void *reserved) {
    CK_RV rv = real_finalize(reserved);
    const char *log = getenv("FINALIZE_LOG");
    FILE *file = log ? fopen(log, "a") : NULL;
    if (file) {
        fprintf(file, "C_Finalize %lu\n", rv);
        fclose(file);
    }
    return rv;
}

CK_RV C_GetFunctionList(struct function_list **out) {
    void *softhsm = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
    if (!softhsm) return 5; /* CKR_GENERAL_ERROR */
    CK_RV (*get)(struct function_list **) = (CK_RV (*)(struct function_list **))dlsym(softhsm, "C_GetFunctionList");
    struct function_list *real;
    CK_RV rv = get(&real);
    if (rv) return rv;
    memcpy(&shim, real, sizeof shim);
    real_finalize = (CK_RV (*)(void *))shim.functions[1];
    shim.functions[1] = (CK_FN)logged_finalize;
    const char *at = getenv("HANG_AT");
    if (at && !strcmp(at, "login")) shim.functions[18] = (CK_FN)hang;
    if (at && !strcmp(at, "sign")) shim.functions[43] = (CK_FN)hang;
    if (at && !strcmp(at, "close")) shim.functions[13] = (CK_FN)hang;
    *out = &shim;
    return 0;
}
