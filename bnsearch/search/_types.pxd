# The array types the compiled search code reads (cimported by _kernel.pyx and
# _snippets.pyx): what the segment writers write for doc ids and term frequencies.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t

ctypedef fused doc_t:
    uint16_t
    int32_t

ctypedef fused tf_t:
    uint8_t
    uint16_t
    uint32_t
    int64_t
