"""Server tools and the loop that runs them."""
