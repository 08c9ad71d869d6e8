/* print.c — text format (in progress) */
