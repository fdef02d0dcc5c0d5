"""EmbeddingGen: the frozen encoder over the transformed examples, on Beam; the frozen Trainer trains on its output."""
