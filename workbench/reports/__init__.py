"""Reports: figures, tables and (with papermill) rendered notebooks."""
