# The one set of C language and warning flags for every C file in this
# repository: tenders, bindings, runtime, unikernels, host harnesses, unit
# tests and libFuzzer harnesses, under gcc and clang alike.
#
# Who reads it:
#   - solo5/Makefile and runtime/Makefile `include` it and use $(C_COMMON_FLAGS);
#   - solo5/recipe.py parses it (solo5.recipe.C_COMMON_FLAGS) for every image
#     it plans, so the builder and every test building an image use it;
#   - Python tests that compile C themselves take solo5.recipe.C_COMMON_FLAGS.
#
# Keep it one `C_COMMON_FLAGS :=` assignment of plain flags (no make
# functions or variables): recipe.py reads the words after `:=`. Changing it
# changes every image's bytes (hashes are computed at build time, never
# written down), so change it rarely and rebuild.
#
# Why these beyond -Wall -Wextra: -Wvla (no unbounded stack use), -Wshadow
# and -Wcast-qual (no hidden aliasing of names or of const data),
# -Wstrict-prototypes/-Wmissing-prototypes/-Wold-style-definition (every
# external function declared once, in its module's header), -Wformat=2 and
# -Wwrite-strings (format strings and literals stay read-only and checked),
# -Wpointer-arith (no arithmetic on void *), -Wundef (a misspelt macro in
# #if is an error, not 0).
C_COMMON_FLAGS := -std=c11 -Wall -Wextra -Werror -Wvla -Wshadow -Wcast-qual -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wformat=2 -Wwrite-strings -Wundef
