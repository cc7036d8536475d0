/* A stand-in for miniaudio.h, which the ollama module zip leaves out of
 * llama.cpp's vendor/ folder. llama.cpp's mtmd helper uses it only to decode
 * audio input, which llmsweep never sends: every call here fails, so audio input
 * is reported as unreadable instead of being decoded. */
#ifndef LLMSWEEP_MINIAUDIO_STANDIN_H
#define LLMSWEEP_MINIAUDIO_STANDIN_H

#include <stddef.h>
#include <stdint.h>

#ifndef MA_API
#define MA_API static
#endif

typedef int ma_result;
typedef uint32_t ma_uint32;
typedef uint64_t ma_uint64;
#define MA_SUCCESS 0
#define MA_ERROR (-1)

typedef enum { ma_format_unknown = 0, ma_format_f32 = 5 } ma_format;
typedef enum { ma_encoding_format_unknown = 0, ma_encoding_format_wav } ma_encoding_format;

typedef struct { ma_format format; ma_uint32 channels; ma_uint32 sampleRate; } ma_decoder_config;
typedef struct { int unused; } ma_decoder;
typedef struct { ma_encoding_format encodingFormat; ma_format format; ma_uint32 channels; ma_uint32 sampleRate; } ma_encoder_config;
typedef struct { int unused; } ma_encoder;

MA_API ma_decoder_config ma_decoder_config_init(ma_format f, ma_uint32 ch, ma_uint32 rate) {
    ma_decoder_config c = {f, ch, rate};
    return c;
}
MA_API ma_result ma_decoder_init_memory(const void *d, size_t n, const ma_decoder_config *c, ma_decoder *dec) {
    (void)d; (void)n; (void)c; (void)dec;
    return MA_ERROR;
}
MA_API ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *dec, ma_uint64 *n) {
    (void)dec; *n = 0;
    return MA_ERROR;
}
MA_API ma_result ma_decoder_read_pcm_frames(ma_decoder *dec, void *out, ma_uint64 n, ma_uint64 *read) {
    (void)dec; (void)out; (void)n; if (read) *read = 0;
    return MA_ERROR;
}
MA_API ma_result ma_decoder_uninit(ma_decoder *dec) { (void)dec; return MA_SUCCESS; }
MA_API ma_encoder_config ma_encoder_config_init(ma_encoding_format e, ma_format f, ma_uint32 ch, ma_uint32 rate) {
    ma_encoder_config c = {e, f, ch, rate};
    return c;
}
MA_API ma_result ma_encoder_init_file(const char *p, const ma_encoder_config *c, ma_encoder *e) { (void)p; (void)c; (void)e; return MA_ERROR; }
MA_API ma_result ma_encoder_write_pcm_frames(ma_encoder *e, const void *f, ma_uint64 n, ma_uint64 *w) { (void)e; (void)f; (void)n; if (w) *w = 0; return MA_ERROR; }
MA_API void ma_encoder_uninit(ma_encoder *e) { (void)e; }

#endif
