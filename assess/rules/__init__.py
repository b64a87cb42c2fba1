"""Rule packs: loading, checking and compiling the policy instruments in `rules/`, and evaluating them."""
