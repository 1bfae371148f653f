/*
 * Console on COM1, a 16550 UART (National Semiconductor PC16550D data
 * sheet): 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on, its
 * interrupts off. Output only; bytes are written as they are (no CR added).
 */
#include "virtio.h"

#define COM1 0x3F8
#define UART_DATA 0           /* THR when written */
#define UART_IER 1            /* interrupt enable; divisor high with DLAB */
#define UART_FCR 2            /* FIFO control */
#define UART_LCR 3            /* line control */
#define UART_MCR 4            /* modem control */
#define UART_LSR 5            /* line status */
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_FCR_ENABLE_CLEAR 0x07
#define UART_MCR_DTR_RTS 0x03
#define UART_LSR_THRE 0x20    /* transmit holding register empty */
#define UART_DIVISOR_115200 1 /* 115200 = 1843200 / (16 * 1) */
/* Give up waiting on a UART that never drains (no device there). */
#define UART_SPIN_MAX 100000

void serial_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, UART_LCR_DLAB);
    outb(COM1 + UART_DATA, UART_DIVISOR_115200);
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, UART_LCR_8N1);
    outb(COM1 + UART_FCR, UART_FCR_ENABLE_CLEAR);
    outb(COM1 + UART_MCR, UART_MCR_DTR_RTS);
}

void serial_write(const char *buf, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        for (int spin = 0; spin < UART_SPIN_MAX; spin++) {
            if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
                break;
        }
        outb(COM1 + UART_DATA, (uint8_t)buf[i]);
    }
}
