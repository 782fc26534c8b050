"""Stratified LD score regression of the models' variant annotations (the paper's Fig. 5).

Modules, in pipeline order: :mod:`genotypes` (msprime reference genotypes, PLINK + VCF),
:mod:`gwas` (simulated summary statistics with a planted enrichment), :mod:`sumstats`
(ldsc munge's checks), :mod:`annot` (model and baseline annotations), :mod:`ldscore`
(ldsc's LD scores), :mod:`regression` (ldsc's S-LDSC estimator), :mod:`sldsc` (the runs),
:mod:`summary` (FDR, searched vs sampled), :mod:`figure` (Fig. 5); :mod:`plink` and
:mod:`fsutil` are file helpers. The estimators re-implement ldsc (GPLv3) and are checked
against it in tests/test_ldsc_reference.py.
"""
