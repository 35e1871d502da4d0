"""A puzzle's files: loading and validating the public format (the .pth pieces read
without torch, the CSV), the compact .npz, and answers as permutations, strings and hashes."""
