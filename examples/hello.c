/* hello.c: y = sum(x * x), evaluated by kiln's reference backend. */
#include <stdio.h>
#include <kiln.h>

int main(void)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, (int64_t[]){3});
    kiln_output(g, "y", kiln_sum(g, kiln_mul(g, x, x), 0, NULL, 0));
    kiln_program *p = kiln_compile(g, NULL); /* NULL: see kiln_graph_error */
    if (!p)
        return fprintf(stderr, "%s\n", kiln_graph_error(g)), 1;
    float in[3] = {1, 2, 3}, y;
    kiln_set_input(p, "x", in, sizeof in);
    if (kiln_run(p) || kiln_get_output(p, "y", &y, sizeof y))
        return fprintf(stderr, "%s\n", kiln_program_error(p)), 1;
    printf("y = %g\n", y); /* y = 14 */
    kiln_program_free(p);
    kiln_graph_free(g);
    return 0;
}
