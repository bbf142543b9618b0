# Question 2: the linear region of a ReLU network
import numpy as np


def linear_region(weights, biases, x0):
    x0 = np.array(x0, dtype=np.float64)
    d = x0.shape[0]
    n_layers = len(weights)

    # h(x) = W_cur @ x + b_cur inside the region, built one layer at a time
    W_cur = np.eye(d)
    b_cur = np.zeros(d)
    a = x0.copy()

    for k in range(n_layers):
        Wk = np.array(weights[k], dtype=np.float64)
        bk = np.array(biases[k], dtype=np.float64)
        z = Wk @ a + bk
        W_cur = Wk @ W_cur
        b_cur = Wk @ b_cur + bk

        if k == n_layers - 1:
            break  # no ReLU after the last layer

        # mask: 1 where the unit is on, 0 where it is off (z == 0 counts as off)
        mask = np.zeros(len(z))
        for n in range(len(z)):
            if z[n] > 0:
                mask[n] = 1.0
        D = np.diag(mask)
        W_cur = D @ W_cur
        b_cur = D @ b_cur
        a = D @ z

    return W_cur, b_cur
