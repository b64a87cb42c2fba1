"""The pack kernel: what rule packs, scoring files and tier packs share. Reading and validating a spec file,
parameters and their basis, expressions checked and compiled to SQL, the named populations, message templates."""
