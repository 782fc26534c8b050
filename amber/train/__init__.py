"""Final training and evaluation: trainer (:mod:`.trainer`), saved models
(:mod:`.model_io`), plain-CNN baselines (:mod:`.baselines`), test-set metrics and the
searched-vs-sampled comparison (:mod:`.evaluate`)."""
