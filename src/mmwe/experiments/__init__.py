"""Reproductions of published experiments, one module per paper.

* ``collell``: Collell & Moens (ACL 2018), "Do Neural Network Cross-Modal Mappings Really Bridge Modalities?"
* ``mao``: Mao, Xu, Jing, Yuille (NIPS 2016), visual word embeddings from image captions.

Each module exposes a dataclass config and ``run_*`` functions returning plain dicts of rows; the
``mmwe reproduce`` commands only turn options into those configs and print / save the rows.
"""
