"""Parameter and attribute documentation shared by both estimators."""

SHARED_PARAMETERS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer.
        ``()`` gives a network without hidden layers (a generalised linear
        model: logistic regression for the classifier with log-loss).

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'elu', \
            'gelu', 'silu', 'softplus'} or tuple of str, default='relu'
        Activation function of the hidden layers: one name for every hidden
        layer, or a tuple (or list) of one name per hidden layer, first to
        last, e.g. ``activation=('tanh', 'relu')`` with
        ``hidden_layer_sizes=(64, 32)``:

        - 'identity': ``f(z) = z``;
        - 'logistic': ``f(z) = 1 / (1 + exp(-z))``;
        - 'tanh': ``f(z) = tanh(z)``;
        - 'relu': ``f(z) = max(z, 0)``;
        - 'leaky_relu': ``f(z) = max(z, 0.01 z)``;
        - 'elu': ``f(z) = z`` for ``z > 0``, ``exp(z) - 1`` otherwise (alpha 1);
        - 'gelu': ``f(z) = z * Phi(z) = z / 2 * (1 + erf(z / sqrt(2)))``, the
          exact form, with ``Phi`` the standard normal distribution function;
        - 'silu' (swish): ``f(z) = z / (1 + exp(-z))``;
        - 'softplus': ``f(z) = log(1 + exp(z))``.

        The first four are scikit-learn's; initial weights follow its rule
        (Glorot-uniform, factor 2 for 'logistic', 6 otherwise): with one name
        per layer, the weights into a hidden layer take that layer's factor
        and the output layer's weights the last hidden layer's.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        Weight optimiser: scipy's L-BFGS-B quasi-Newton method, minibatch
        stochastic gradient descent, or Adam.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases). The
        penalty is divided by the total sample weight when added to the loss.

    batch_size : int or 'auto', default='auto'
        Size of minibatches for the stochastic solvers; ``'auto'`` is
        ``min(200, n_samples)``. Not used by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of 'sgd': constant; ``learning_rate_init /
        pow(t + 1, power_t)`` with ``t`` the samples seen; or divided by 5 each
        time the loss (or validation score) fails to improve by ``tol`` for
        ``n_iter_no_change`` epochs.

    learning_rate_init : float, default=0.001
        Initial learning rate of 'sgd' and 'adam'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of iterations: epochs for 'sgd' and 'adam', L-BFGS
        iterations for 'lbfgs'.

    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch ('sgd', 'adam').

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the shuffles.
        The same seed gives the same initial weights as scikit-learn's MLP.

    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) counted as
        progress; for 'lbfgs', the projected-gradient tolerance.

    verbose : bool, default=False
        Print the loss after each epoch or iteration.

    warm_start : bool, default=False
        Reuse the solution of the previous call to ``fit`` as initialisation.

    momentum : float, default=0.9
        Momentum of 'sgd', in [0, 1].

    nesterovs_momentum : bool, default=True
        Whether 'sgd' uses Nesterov's momentum.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its score
        (``scoring``) has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and restore
        the best weights ('sgd', 'adam'). As in scikit-learn's implementation,
        the split is stratified for binary classification only.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping, in (0, 1).

    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in [0, 1).

    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping ('sgd', 'adam').

    max_fun : int, default=15000
        Maximum number of objective evaluations of 'lbfgs'.

    dropout : float or tuple of float, default=0.0
        The fraction of each hidden layer's units zeroed in each training
        step of 'sgd' and 'adam' (inverted dropout: the units kept are scaled
        by ``1 / (1 - p)``, so prediction, which never drops units, needs no
        rescaling); one value for every hidden layer, or one per hidden
        layer, each in [0, 1). The masks are drawn from a stream seeded by
        ``random_state``, so a fit is reproducible and a ``partial_fit``
        stream goes on deterministically. 'lbfgs', whose objective must be
        deterministic, refuses dropout; ``dropout=0`` trains exactly as
        without it.

    scoring : str, callable or None, default=None
        The validation score of early stopping (``early_stopping=True``, a
        given ``X_val``) and of ``partial_fit`` streams given ``X_val``, as
        ``HistGradientBoosting*``'s ``scoring``: None for the estimator's
        ``score`` (scikit-learn's MLP: accuracy, R²); ``'loss'`` for the
        validation loss (recorded negated, so that greater is better); or
        the name of a scikit-learn scorer (``sklearn.metrics.get_scorer_names()``)
        or a callable ``scorer(estimator, X, y)``. ``validation_scores_`` and
        ``best_validation_score_`` record it, and ``tol`` applies to it.
"""

SHARED_ATTRIBUTES_DOC = """
    loss_ : float
        The objective (loss plus penalty) at the end of training.

    best_loss_ : float or None
        The smallest training loss reached; ``None`` when a validation score
        decides instead (early stopping, or ``partial_fit`` given ``X_val``).

    loss_curve_ : list of float
        The loss after each epoch ('sgd', 'adam') or iteration ('lbfgs').

    validation_scores_ : list of float or None
        Validation score (as ``scoring`` says, greater is better) after each
        epoch when ``early_stopping=True``, or after each ``partial_fit``
        call given ``X_val``; otherwise ``None``.

    early_stopped_ : bool
        Whether the last call ended early: the validation score stopped
        improving (early stopping in ``fit``, or in a ``partial_fit`` stream
        given ``X_val`` and ``y_val``, where the best weights are then
        restored), or, for 'sgd' and 'adam', a callback asked to stop.

    validation_loss_curve_ : list of float or None
        Validation loss after each epoch when ``early_stopping=True``, or
        after each ``partial_fit`` call given ``X_val``: the mean
        (sample-weighted) loss on the held-out rows, or on ``X_val`` when
        given, without the L2 penalty. Beside
        ``validation_scores_`` it shows where the model starts to overfit.

    best_validation_score_ : float or None
        Best validation score when ``early_stopping=True``, or in a
        ``partial_fit`` stream given ``X_val``.

    t_ : int
        Number of training samples seen by the stochastic solvers.

    coefs_ : list of ndarray of shape (n_units_in, n_units_out)
        Weight matrices, live views of the parameters: writing into them in
        place changes the model.

    intercepts_ : list of ndarray of shape (n_units_out,)
        Bias vectors, live views of the parameters.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string names.

    n_iter_ : int
        Number of iterations run by the solver in the last call.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Name of the output activation.
"""
