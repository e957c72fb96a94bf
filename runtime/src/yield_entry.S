// co::this_task::yield() on x86-64: a call to its body (co::detail::yield_body,
// yield_body.h), then one of two ways back to the caller.
//
// Each `call` pushes its return address on the CPU's return-address
// predictor, and each `ret` is predicted to go to the address on top. A task
// that yields hands off to the next task (Processer::Yield) with its own
// return address from yield() on top, and that task then returns from its
// yield(): a `ret` mispredicts (about 10 ns) unless both tasks called
// yield() from the same place. So when the body says the predicted address
// is not ours, this returns with an indirect `jmp` instead, whose target the
// branch predictor learns from the branches that led to it. Otherwise (the
// same place, or a resume from Run) it returns with `ret`, which keeps the
// predictor's stack in step with the real one.
#if defined(__x86_64__)
        .text
        .p2align 4
        .globl  _ZN2co9this_task5yieldEv
        .type   _ZN2co9this_task5yieldEv, @function
_ZN2co9this_task5yieldEv:
        .cfi_startproc
        subq    $8, %rsp                // the call below needs %rsp 16-byte aligned
        .cfi_adjust_cfa_offset 8
        movq    8(%rsp), %rdi           // our return address: the body's argument
        call    _ZN2co6detail10yield_bodyEPKv  // returns the predicted return address
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        testq   %rax, %rax
        jz      1f                      // none predicted
        cmpq    %rax, (%rsp)
        jne     2f
1:
        ret
2:
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        .cfi_register %rip, %rcx
        jmp     *%rcx
        .cfi_endproc
        .size   _ZN2co9this_task5yieldEv, .-_ZN2co9this_task5yieldEv
#endif
        .section .note.GNU-stack, "", @progbits
