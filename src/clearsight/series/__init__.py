"""Series: a case's images grouped into near-duplicate stacks and linked scene-mates."""
