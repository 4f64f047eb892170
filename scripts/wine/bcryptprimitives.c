/* Minimal bcryptprimitives.dll shim for wine < 9: provides ProcessPrng,
 * which Rust std (x86_64-pc-windows-gnu, >= 1.78) imports for its OS RNG.
 * Implemented with RtlGenRandom (= advapi32!SystemFunction036). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    while (cbData > 0) {
        ULONG chunk = cbData > 0x40000000 ? 0x40000000 : (ULONG)cbData;
        if (!SystemFunction036(pbData, chunk))
            return FALSE;          /* real ProcessPrng never fails; wine's RtlGenRandom won't either */
        pbData += chunk;
        cbData -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMainCRTStartup(HINSTANCE h, DWORD reason, LPVOID reserved)
{
    (void)h; (void)reason; (void)reserved;
    return TRUE;
}
