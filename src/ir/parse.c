/* parse.c — text format (in progress) */
