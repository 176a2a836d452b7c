"""Tactical planning above the plants.

* :mod:`scmgym.planning.snp`: supply network planning, an SNP-style network MIP with product,
  time, priority and connected-component decompositions.
* :mod:`scmgym.planning.production_distribution`: two plants' production lines, their DCs and
  transfers between the plants, by the integrated MILP and by a three-phase GA + PSO
  configurator.
* :mod:`scmgym.planning.cart`: the CAR T-cell therapy supply chain MILP (site opening, patient
  routing).
* :mod:`scmgym.planning.decomposition`: learned decomposition: predict a MILP's complicating
  binaries, fix them, solve the rest, repair.
* :mod:`scmgym.planning.tables`: the on-disk form shared by the planning models (a folder of CSV
  tables or one Excel workbook), with errors that name file, sheet, row, column and value.

Every model is a Pyomo ``ConcreteModel`` built by a ``build_*_model`` factory with one named rule
per constraint family, solved through :func:`scmgym.baselines.milp.common.solve` (HiGHS by
default; any solver Pyomo knows, such as ``scip_direct`` with ``pip install scmgym[scip]``).
"""
