/* The artifact, linked into flash (.rodata), 16-byte aligned. EQ_ARTIFACT is the path. */
#define STR_(x) #x
#define STR(x) STR_(x)
  .section .rodata.eq_artifact, "a"
  .balign 16
  .global eq_artifact
eq_artifact:
  .incbin STR(EQ_ARTIFACT)
eq_artifact_end:
  .balign 4
  .global eq_artifact_len
eq_artifact_len:
  .word eq_artifact_end - eq_artifact
