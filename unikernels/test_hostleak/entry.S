/*
 * test_hostleak: solo5_app_main in assembly, so that the registers the
 * application inherits from the tender and the bindings are recorded
 * before any compiled code changes them: the callee-saved general
 * registers (rbx, rbp, r12-r15) and xmm0-15 (the bindings never use SSE).
 */
    .text
    .globl solo5_app_main
    .type solo5_app_main, @function
solo5_app_main:
    lea hostleak_gprs(%rip), %rax
    mov %rbx, 0(%rax)
    mov %rbp, 8(%rax)
    mov %r12, 16(%rax)
    mov %r13, 24(%rax)
    mov %r14, 32(%rax)
    mov %r15, 40(%rax)
    lea hostleak_xmm(%rip), %rax
    movdqu %xmm0, 0(%rax)
    movdqu %xmm1, 16(%rax)
    movdqu %xmm2, 32(%rax)
    movdqu %xmm3, 48(%rax)
    movdqu %xmm4, 64(%rax)
    movdqu %xmm5, 80(%rax)
    movdqu %xmm6, 96(%rax)
    movdqu %xmm7, 112(%rax)
    movdqu %xmm8, 128(%rax)
    movdqu %xmm9, 144(%rax)
    movdqu %xmm10, 160(%rax)
    movdqu %xmm11, 176(%rax)
    movdqu %xmm12, 192(%rax)
    movdqu %xmm13, 208(%rax)
    movdqu %xmm14, 224(%rax)
    movdqu %xmm15, 240(%rax)
    jmp hostleak_main
    .size solo5_app_main, . - solo5_app_main

/* The upper halves of ymm0-15 (AVX only; legacy SSE code leaves them
 * alone, so they still hold what the guest started with). */
    .globl hostleak_read_ymm_upper
    .type hostleak_read_ymm_upper, @function
hostleak_read_ymm_upper:
    vextractf128 $1, %ymm0, 0(%rdi)
    vextractf128 $1, %ymm1, 16(%rdi)
    vextractf128 $1, %ymm2, 32(%rdi)
    vextractf128 $1, %ymm3, 48(%rdi)
    vextractf128 $1, %ymm4, 64(%rdi)
    vextractf128 $1, %ymm5, 80(%rdi)
    vextractf128 $1, %ymm6, 96(%rdi)
    vextractf128 $1, %ymm7, 112(%rdi)
    vextractf128 $1, %ymm8, 128(%rdi)
    vextractf128 $1, %ymm9, 144(%rdi)
    vextractf128 $1, %ymm10, 160(%rdi)
    vextractf128 $1, %ymm11, 176(%rdi)
    vextractf128 $1, %ymm12, 192(%rdi)
    vextractf128 $1, %ymm13, 208(%rdi)
    vextractf128 $1, %ymm14, 224(%rdi)
    vextractf128 $1, %ymm15, 240(%rdi)
    ret
    .size hostleak_read_ymm_upper, . - hostleak_read_ymm_upper

/* The FS and GS bases (needs FSGSBASE enabled by the host kernel). */
    .globl hostleak_read_fs_gs
    .type hostleak_read_fs_gs, @function
hostleak_read_fs_gs:
    rdfsbase %rax
    mov %rax, 0(%rdi)
    rdgsbase %rax
    mov %rax, 8(%rdi)
    ret
    .size hostleak_read_fs_gs, . - hostleak_read_fs_gs

    .section .note.GNU-stack,"",@progbits
