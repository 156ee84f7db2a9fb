"""What a completed signature request produces (docs/signatures.md): the certificate of
completion, the PAdES-sealed PDF, the firm's document-signing certificate they are sealed
with, and the public check of a signed file or an evidence bundle."""
